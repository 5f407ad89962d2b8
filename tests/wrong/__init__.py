"""Wrong implementations that students really write, one list per assignment (``WRONG`` in
``tests/wrong/<assignment>.py``), shared by the in-process test of the checks and the graded run
of ``test_wrong.py``."""
import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class Wrong:
    """``source`` replaces the reference solution of ``function``; the test cells of the kinds in
    ``fails`` (and no other cell) must lose their points, with ``message`` in what they say."""
    function: str
    mistake: str
    source: str
    fails: tuple = ("visible", "hidden")
    message: str = ""


def wrong_of(assignment: str) -> list[Wrong]:
    try:
        module = importlib.import_module(f"wrong.{assignment}")
    except ModuleNotFoundError as err:
        if err.name != f"wrong.{assignment}":
            raise
        return []
    return list(module.WRONG)
