"""Runs inside the student's kernel: call a graded function on the grader's inputs and send the
results back, encoded by ``codec``, as one display output of a private MIME type.

``execute`` executes ``codec.py`` and then this file into one private dict in the kernel (so no
name of the student's is shadowed) and calls ``capture(globals(), request)`` where each graded
cell stood. Nothing here is trusted: the student can patch anything in the kernel, and the worst
that buys is sending back wrong results of their own, which the grader judges like any other.
"""
import json

try:
    encode, decode  # exec'd after codec.py in the kernel's private namespace
except NameError:  # imported as a module (tests)
    from .codec import decode, encode

MIME = "application/vnd.rnn-course.capture+json"
MESSAGE_CHARS = 300


def _describe(err):
    try:
        return str(err)[:MESSAGE_CHARS]
    except Exception:
        return "(the exception's message could not be shown)"


def call(function, encoded_args):
    """One case: the result and the arguments after the call, or the exception it raised."""
    args = decode(encoded_args)
    try:
        out = function(*args)
    except KeyboardInterrupt:
        raise
    except BaseException as err:  # SystemExit included: a student's exit() is a finding
        return {"raised": [c.__name__ for c in type(err).__mro__], "message": _describe(err)}
    return {"ok": encode(out), "after": encode(list(args))}


def run(namespace, request):
    function = namespace.get(request["function"])
    if not callable(function):
        missing = {"raised": ["NameError", "Exception", "BaseException", "object"],
                   "message": f"{request['function']} is not defined"}
        return [missing for _ in request["cases"]]
    return [call(function, case) for case in request["cases"]]


def capture(namespace, request_json):
    from IPython.display import publish_display_data

    request = json.loads(request_json)
    results = run(namespace, request)
    publish_display_data({MIME: json.dumps({"id": request["id"], "results": results})})
