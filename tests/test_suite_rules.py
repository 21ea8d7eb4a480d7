"""Rules for the test suite itself, checked over the source of tests/*.py.

* **No timed assertions.** Speed targets live in bench/, never as an ``assert`` that something
  took less (or more) than some seconds: on a loaded machine such a test fails for no fault, and
  a test that waits a fixed time before checking that something did *not* happen passes when it
  happens late. A bounded deadline that makes a wait fail instead of hang (``wait_for(cond,
  timeout=10)``, ``thread.join(10)``) is no assertion and is fine.
* **No absolute machine paths.** Tests use ``tmp_path`` and paths relative to the repository
  (``tests.conftest.REPO``, ``SHARED``), never a folder of one machine (``/work/…``, ``/home/…``).
* **No ``or`` that talks to the bot twice.** ``assert "a" in say(x) or "b" in say(x)`` sends the
  message a second time when the first reply fails the check, and passes on that reply.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
SOURCES = sorted(path for path in TESTS.glob("*.py") if path.name != Path(__file__).name)  # its examples are bad on purpose

# --- timed assertions ---------------------------------------------------------------------------
# A clock reading: time.perf_counter() / monotonic() / time() / process_time() (and their _ns), the
# bare names imported from time, or an event loop's .time(). Names assigned from a clock reading,
# or from an expression over such names, are clock readings too (``started``, ``elapsed``,
# ``quick_done``, a list of timings filled with ``.append(...)``). An assert is timed when one of
# its ordering comparisons (< <= > >=) has a clock reading, or a name that says it holds a
# duration, on either side.
CLOCKS = {"perf_counter", "perf_counter_ns", "monotonic", "monotonic_ns", "time", "time_ns", "process_time",
          "process_time_ns"}
DURATION_NAME = re.compile(r"(^|_)(elapsed|duration|durations|took|latency|latencies|timings?|seconds|secs)($|_)")
ORDERING = (ast.Lt, ast.LtE, ast.Gt, ast.GtE)


def _is_clock_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call) or node.args or node.keywords:
        return False
    func = node.func
    if isinstance(func, ast.Name):
        return func.id in CLOCKS - {"time"}
    return isinstance(func, ast.Attribute) and func.attr in CLOCKS


def _loaded_names(node: ast.AST) -> set[str]:
    """Names read in ``node``, leaving out the names of called functions (``seconds(x)``)."""
    called = {id(n.func) for n in ast.walk(node) if isinstance(n, ast.Call)}
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and id(n) not in called}


def _reads_clock(node: ast.AST, clocked: set[str]) -> bool:
    return any(_is_clock_call(n) for n in ast.walk(node)) or bool(_loaded_names(node) & clocked)


def _clocked_names(scope: ast.AST) -> set[str]:
    """Names in ``scope`` that hold clock readings (to a fixed point)."""
    clocked: set[str] = set()
    while True:
        found = set(clocked)
        for node in ast.walk(scope):
            if isinstance(node, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and node.value is not None \
                    and _reads_clock(node.value, found):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                found |= {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in ("append", "extend", "add") and isinstance(node.func.value, ast.Name) \
                    and any(_reads_clock(arg, found) for arg in node.args):
                found.add(node.func.value.id)
        if found == clocked:
            return clocked
        clocked = found


def _timed(compare: ast.Compare, clocked: set[str]) -> bool:
    if not any(isinstance(op, ORDERING) for op in compare.ops):
        return False
    for operand in [compare.left, *compare.comparators]:
        if _reads_clock(operand, clocked):
            return True
        words = _loaded_names(operand) | {n.attr for n in ast.walk(operand) if isinstance(n, ast.Attribute)}
        if any(DURATION_NAME.search(word) for word in words):
            return True
    return False


def timed_assertions(source: str) -> list[int]:
    """Line numbers of the timed assertions in ``source``."""
    tree = ast.parse(source)
    scopes = [node for node in tree.body if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    module_level = ast.Module(body=[n for n in tree.body if n not in scopes], type_ignores=[])
    lines = []
    for scope in [module_level, *scopes]:
        clocked = _clocked_names(scope)
        for node in ast.walk(scope):
            if isinstance(node, ast.Assert) and any(isinstance(n, ast.Compare) and _timed(n, clocked)
                                                    for n in ast.walk(node.test)):
                lines.append(node.lineno)
    return sorted(lines)


# The assertions removed for issue 14 (as they were written), and look-alikes that are fine.
TIMED = [
    "started = time.monotonic()\nassert 0.9 <= time.monotonic() - started < 3",
    "started = time.monotonic()\nassert got.message.text == '醒醒' and time.monotonic() - started < 2",
    "started = time.monotonic()\nassert time.monotonic() - started >= 0.2",
    "started = time.perf_counter()\nelapsed = time.perf_counter() - started\n"
    "assert elapsed < 5, f'poster_png took {elapsed:.2f}s'",
    "started = time.perf_counter()\ncsv_seconds = time.perf_counter() - started\nassert csv_seconds < 3",
    "timings = []\nstart = time.perf_counter()\ntimings.append(time.perf_counter() - start)\n"
    "assert statistics.median(timings) < 0.005",
    "started = time.monotonic()\nquick_done = time.monotonic() - started\nslow_done = time.monotonic() - started\n"
    "assert quick_done < 2.0 <= slow_done, (quick_done, slow_done)",
    "def test():\n    sent_at, recorded_at = [], []\n\n    def main():\n        sent_at.append(time.monotonic())\n"
    "        recorded_at.append(time.monotonic())\n\n    main()\n    assert recorded_at[0] - sent_at[-1] < 0.5",
    "started = time.monotonic()\nassert done.status_code == 303 and time.monotonic() - started >= 0.3",
    "begun = time.monotonic()\nassert time.monotonic() - begun < 1.0",
    "assert (\n    report.duration\n    < 2\n)",
    "t0 = loop.time()\nassert loop.time() - t0 < 1",
]
NOT_TIMED = [
    "deadline = time.monotonic() + 60\nwhile time.monotonic() < deadline:\n    time.sleep(0.1)",
    "assert started.wait(10)\nworker.join(20)",
    "assert page < 10\nassert width['困境情形'] <= 60",
    "assert outbox.backoff(1) == dt.timedelta(seconds=2)",
    "assert seconds(caught.value.retry_after) == 3",
    "assert 0 < result.distance_km <= reverse_geo.MAX_NEAREST_KM",
    "start = (time.time() // WINDOW + 1) * WINDOW + 1\nrun(start)\nassert len(rows) == 3",
    "assert abs(width_in * 25.4 - 210) < 1",
]


@pytest.mark.parametrize("snippet", TIMED)
def test_the_timed_assertion_check_finds_timed_assertions(snippet):
    assert timed_assertions(snippet), snippet


@pytest.mark.parametrize("snippet", NOT_TIMED)
def test_the_timed_assertion_check_leaves_deadlines_and_other_numbers_alone(snippet):
    assert timed_assertions(snippet) == [], snippet


def test_no_timed_assertions():
    found = [f"{path.name}:{line}" for path in SOURCES for line in timed_assertions(path.read_text(encoding="utf-8"))]
    assert found == [], f"timed assertions (move the timing to bench/, wait on a signal instead): {found}"


# --- absolute machine paths ---------------------------------------------------------------------
MACHINE_PATH = re.compile(r"(?<![\w.~/-])/(work|home|root|tmp|Users|mnt|srv|opt|scratch|data)/")


def machine_paths(source: str) -> list[int]:
    """Line numbers of string constants (f-strings included) that name an absolute machine folder."""
    return sorted({node.lineno for node in ast.walk(ast.parse(source))
                   if isinstance(node, ast.Constant) and isinstance(node.value, str)
                   and MACHINE_PATH.search(node.value)})


@pytest.mark.parametrize("snippet, expected", [
    ('ACTION_PLAN = Path("/work/shared/research/action_plan.txt")', [1]),
    ('p = "/home/ci/tongban/var"', [1]),
    ("f = f'/tmp/{name}.db'", [1]),
    ('url = "https://example.invalid/home/page"', []),
    ('assert client.get("/staff/tmp/x").status_code == 404', []),
    ('path = tmp_path / "work" / "x"', []),
])
def test_the_machine_path_check(snippet, expected):
    assert machine_paths(snippet) == expected


def test_no_absolute_machine_paths():
    found = [f"{path.name}:{line}" for path in SOURCES for line in machine_paths(path.read_text(encoding="utf-8"))]
    assert found == [], f"absolute machine paths (use tmp_path or tests.conftest.REPO): {found}"


# --- an `or` that talks to the bot twice ----------------------------------------------------------
TALK = re.compile(r"^_?(say|chat|press|ask|send)$")


def repeated_talk(source: str) -> list[int]:
    """Line numbers of ``or`` expressions inside an assert with a call like ``say(...)`` on both sides."""
    def talks(node: ast.AST) -> bool:
        return any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and TALK.match(n.func.id)
                   for n in ast.walk(node))

    return sorted({node.lineno for node in ast.walk(ast.parse(source)) if isinstance(node, ast.Assert)
                   for inner in ast.walk(node.test) if isinstance(inner, ast.BoolOp) and isinstance(inner.op, ast.Or)
                   and sum(talks(value) for value in inner.values) >= 2})


def test_the_repeated_talk_check():
    assert repeated_talk('assert "几周岁" in say("abc") or "例如" in say("abc")') == [1]
    assert repeated_talk('assert "不客气" in chat("谢谢你")[0]["text"] or "不用谢" in chat("谢谢")[0]["text"]') == [1]
    assert repeated_talk('reply = say("abc")\nassert "几周岁" in reply or "例如" in reply') == []


def test_no_or_that_talks_to_the_bot_twice():
    found = [f"{path.name}:{line}" for path in SOURCES for line in repeated_talk(path.read_text(encoding="utf-8"))]
    assert found == [], f"an `or` that sends a message again when its first side fails: {found}"
