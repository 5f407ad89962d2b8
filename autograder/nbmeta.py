"""Cell metadata: the compact tags of ``solutions/*.md`` and nbgrader's own, read in one place.

In a solutions source a cell says what it is with a tag (nbgrader's metadata is verbose and easy
to get wrong by hand)::

    :tags: [solution]                    one graded function, between BEGIN/END SOLUTION
    :tags: [test]                        an autograded test cell, which also needs
    :grade_id: <function>-<suffix>       ... its id, naming the function it grades
    :points: 2                           ... and its points
    :tags: [locked]                      setup code students may not edit

``to_nbgrader`` turns those into nbgrader's schema-3 metadata; the predicates read nbgrader's.
"""
import ast

SCHEMA_VERSION = 3
COURSE_TAGS = ("solution", "test", "locked")


def nbgrader(cell) -> dict:
    return cell.get("metadata", {}).get("nbgrader", {})


def is_grade(cell) -> bool:
    return bool(nbgrader(cell).get("grade"))


def is_solution(cell) -> bool:
    return bool(nbgrader(cell).get("solution"))


def grade_id(cell) -> str | None:
    return nbgrader(cell).get("grade_id")


def split_grade_id(grade_id_: str) -> tuple[str, str]:
    """``<function>-<kind>`` (CONTRACT.md): the function a test cell grades, and its kind."""
    function, _, kind = grade_id_.partition("-")
    return function, kind


def join_grade_id(function: str, kind: str) -> str:
    return f"{function}-{kind}"


def graded_function(grade_id_: str) -> str:
    """The function a test cell grades: its grade_id up to the first hyphen (CONTRACT.md)."""
    return split_grade_id(grade_id_)[0]


def course_tag(cell) -> str | None:
    tags = [t for t in cell.get("metadata", {}).get("tags", []) if t in COURSE_TAGS]
    if len(tags) > 1:
        raise ValueError(f"a cell has more than one course tag {tags}:\n{cell.source[:200]}")
    return tags[0] if tags else None


def defined_functions(source: str) -> list[str]:
    """Names of the top-level functions and classes a code cell defines."""
    tree = ast.parse(source)
    return [node.name for node in tree.body
            if isinstance(node, (ast.FunctionDef, ast.ClassDef))]


def to_nbgrader(cell, index: int) -> None:
    """Replace a cell's course tag (and grade_id/points) by nbgrader metadata, in place."""
    tag = course_tag(cell)
    meta = cell.metadata
    grade_id_, points = meta.pop("grade_id", None), meta.pop("points", None)
    if tag is None:
        if grade_id_ is not None or points is not None:
            raise ValueError(f"grade_id/points on a cell without a course tag:\n{cell.source[:200]}")
        return
    meta["tags"] = [t for t in meta["tags"] if t != tag]
    if not meta["tags"]:
        del meta["tags"]
    if tag == "solution":
        names = defined_functions(cell.source)
        if len(names) != 1:
            raise ValueError(f"a solution cell must define exactly one function, found {names}")
        info = {"solution": True, "grade": False, "locked": False, "grade_id": names[0]}
    elif tag == "test":
        if not grade_id_ or "-" not in grade_id_ or not points or points <= 0:
            raise ValueError("a test cell needs grade_id '<function>-<suffix>' and points > 0, "
                             f"got grade_id={grade_id_!r} points={points!r}")
        info = {"solution": False, "grade": True, "locked": True, "grade_id": grade_id_,
                "points": points}
    else:
        info = {"solution": False, "grade": False, "locked": True, "grade_id": f"locked-{index}"}
    meta["nbgrader"] = {**info, "schema_version": SCHEMA_VERSION}
