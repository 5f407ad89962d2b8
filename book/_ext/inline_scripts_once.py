"""Include each inline script once per page (the root of "THEBE_JS_URL has already been declared").

Jupyter Book always loads sphinx-thebe, which adds an inline script `const THEBE_JS_URL = ...`
with `app.add_js_file(None, body=...)` when the documents are read, after the HTML builder was
set up. Sphinx 7.4 files such a script twice: in the builder's list as filename `None`, and in the
registry, from which the builder re-adds it as filename `''` before writing; the two do not compare
equal, so every page declares the constant twice and the browser logs a SyntaxError. Dropping the
builder's `None` copies leaves the registry's, which Sphinx adds back exactly once.
"""


def _drop_early_copies(app, env, docnames):
    scripts = getattr(app.builder, "_js_files", None)
    if scripts is not None:
        scripts[:] = [js for js in scripts if js.filename is not None]


def setup(app):
    # After sphinx-thebe's own env-before-read-docs handler (default priority 500).
    app.connect("env-before-read-docs", _drop_early_copies, priority=900)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
