"""The instructor's report (``report.html``) from synthetic results, no grading run needed; and
one check that a real grading run writes it."""
import re
import time

import pytest

from autograder.grade import Result
from autograder.report_html import normalise, write_html

FUNCTIONS = {"sequences": ["build_vocab", "one_hot", "make_windows"],
             "rnn": ["rnn_step", "rnn_forward"]}
HOSTILE = "<script>alert(1)</script>"
DTYPE = "result: expected dtype float64, got dtype float32"


def checks(assignment, full=(), partial=()):
    rows = []
    for f in FUNCTIONS[assignment]:
        visible = 1 if f in full or f in partial else 0
        hidden = 2 if f in full else 0
        rows += [{"grade_id": f"{f}-visible", "score": str(visible), "max_score": "1"},
                 {"grade_id": f"{f}-hidden", "score": str(hidden), "max_score": "2"}]
    return rows


def result(student, assignment, status="graded", seconds=1.0, full=(), partial=(), **kw):
    rows = checks(assignment, full, partial)
    return Result(student, assignment, status, score=sum(float(r["score"]) for r in rows),
                  max_score=3 * len(FUNCTIONS[assignment]), seconds=seconds, checks=rows, **kw)


@pytest.fixture(scope="module")
def results():
    rs = [result(f"ref{i}", a, seconds=2 + i / 10, full=FUNCTIONS[a])
          for i in range(4) for a in FUNCTIONS]
    # Four students make one_hot's dtype mistake, on different cases; two a shape mistake.
    for i, shape in enumerate(["(5, 3)", "(7,)", "()", "(2, 3, 4)"]):
        rs.append(result(f"dtype{i}", "sequences", partial=["one_hot"], failures={
            "one_hot-hidden": f"one_hot(ids of shape {shape}, vocab_size={i + 2}): {DTYPE}"}))
    for i in range(2):
        rs.append(result(f"shape{i}", "sequences", failures={
            "one_hot-visible": f"one_hot(ids of shape ({i},), vocab_size=3): result: expected "
                               f"shape ({i}, 3), got shape ({i},)"}))
    rs.append(result(HOSTILE, "rnn", seconds=99.5, failures={
        "rnn_step-hidden": f"rnn_step(h of shape (2,)): expected a result, but it raised "
                           f"ValueError: {HOSTILE}"}))
    rs.append(result("late&co", "rnn", "rejected", seconds=0.01,
                     reason=f"unreadable notebook: {HOSTILE}"))
    rs.append(result("crash", "sequences", "error", seconds=45.0, reason="grader error: timeout"))
    return rs


@pytest.fixture(scope="module")
def page(results, tmp_path_factory):
    started = time.monotonic()
    path = write_html(tmp_path_factory.mktemp("report"), results)
    return {"path": path, "text": path.read_text(), "seconds": time.monotonic() - started}


def section(text, anchor):
    return text[text.index(f"id='{anchor}'"):].split("</section>", 1)[0]


def test_one_file_naming_every_assignment_and_function(page):
    assert page["path"].name == "report.html" and page["path"].is_file()
    for assignment, functions in FUNCTIONS.items():
        assert f"<h2>{assignment}</h2>" in page["text"]
        for f in functions:
            assert f"<td>{f}</td>" in page["text"]


def test_status_counts_and_scores(page):
    rnn = section(page["text"], "a-rnn")
    # 6 submissions: 5 graded, 1 rejected, 0 errors; scores 4 x 6 + 0 + 0.
    assert "<td class='n'>6</td><td class='n'>5</td><td class='n'>1</td><td class='n'>0</td>" in rnn
    assert "<td>4.00</td><td>6</td><td>6</td>" in rnn


def test_failures_normalised_and_counted(page):
    assert normalise(f"one_hot(ids of shape (5, 3), vocab_size=4): {DTYPE}") == DTYPE
    seq = section(page["text"], "a-sequences")
    assert f"4 &times; <code>{DTYPE}</code>" in seq
    assert "2 &times; <code>result: expected shape (#, #), got shape (#,)</code>" in seq
    assert seq.index(DTYPE) < seq.index("expected shape")  # most common first


def test_slowest_first(page, results):
    slow = section(page["text"], "slowest")
    rows = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td><td>([\d.]+)</td>", slow)
    assert rows[0] == ("&lt;script&gt;alert(1)&lt;/script&gt;", "rnn", "99.50")
    assert rows[1][0] == "crash" and len(rows) == 10
    seconds = [float(s) for _, _, s in rows]
    assert seconds == sorted(seconds, reverse=True)


def test_rejected_and_errors_with_reasons(page):
    problems = section(page["text"], "problems")
    assert "late&amp;co" in problems and "grader error: timeout" in problems
    assert "unreadable notebook: &lt;script&gt;" in problems
    assert "ref0" not in problems


def test_untrusted_text_is_escaped(page):
    assert HOSTILE not in page["text"] and "<script" not in page["text"]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page["text"]


def test_images_embedded_with_alt_text(page):
    images = re.findall(r"<img [^>]*>", page["text"])
    assert len(images) == 2 * len(FUNCTIONS)
    for img in images:
        assert re.search(r"src='data:image/png;base64,[A-Za-z0-9+/=]{200,}'", img)
        assert re.search(r"alt='[^']{20,}'", img)
    assert "http://" not in page["text"] and "https://" not in page["text"]


def test_a_full_course_in_one_report(tmp_path):
    # (its speed is a benchmark's business, not a timed test's: the machine may be loaded)
    many = {a: [f"{a}_f{i}" for i in range(7)] for a in "abcdef"}
    rs = []
    for a, functions in many.items():
        for s in range(40):
            rows = [{"grade_id": f"{f}-{k}", "score": str((s + i) % 3 if k == "hidden" else s % 2),
                     "max_score": "2" if k == "hidden" else "1"}
                    for i, f in enumerate(functions) for k in ("visible", "hidden")]
            rs.append(Result(f"s{s}", a, "graded", score=sum(float(r["score"]) for r in rows),
                             max_score=21, seconds=s, checks=rows,
                             failures={f"{functions[s % 7]}-hidden": f"{functions[s % 7]}(case {s}): "
                                                                     "result: expected 1, got 2"}))
    text = write_html(tmp_path, rs).read_text()
    assert all(f"<h2>{a}</h2>" in text for a in many)


def test_grading_run_writes_the_report(graded):
    report = graded["out"] / "report.html"
    assert report.is_file()
    text = report.read_text()
    assert "<h2>sequences</h2>" in text and "data:image/png;base64," in text
