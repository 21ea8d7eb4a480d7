"""The suite's own rules on skipping: under CI a skip is a failure unless allow-listed, and the
yes/no switches read one way everywhere (tests/conftest.py)."""

from __future__ import annotations

import pytest

from tests.conftest import REPO, env_flag

pytest_plugins = ["pytester"]

CONFTEST = (REPO / "tests" / "conftest.py").read_text(encoding="utf-8")

SAMPLE = '''
import pytest

def test_passes():
    assert True

def test_skips_for_a_missing_tool():
    pytest.skip("zxing not installed")

@pytest.mark.skipif(True, reason="shared dev set not present")
def test_skipif_marker():
    pass

@pytest.mark.xfail(strict=True, reason="a known false alarm")
def test_known_failure():
    assert False
'''

ALLOWED = '''
import pytest

pytestmark = pytest.mark.skipif(True, reason="reads /proc, Linux only")

def test_reads_proc():
    pass
'''

MODULE_SKIP = '''
import pytest

pytest.importorskip("a_package_nobody_has")

def test_never_runs():
    pass
'''


def _run(pytester, monkeypatch, ci: str, *args: str):
    pytester.makeconftest(CONFTEST + '\nALLOWED_SKIPS[("test_allowed.py", "reads /proc")] = "Linux only"\n')
    pytester.makepyfile(test_sample=SAMPLE, test_allowed=ALLOWED, test_module_skip=MODULE_SKIP)
    for name in ("CI", "TONGBAN_NO_SKIPS"):
        monkeypatch.delenv(name, raising=False)
    if ci:
        monkeypatch.setenv("CI", ci)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:timeout", *args)


def test_under_ci_a_skip_fails_unless_allow_listed(pytester, monkeypatch):
    result = _run(pytester, monkeypatch, "true")
    # the tool's skip fails, the marker's (at setup) errors, the module's import skip fails the
    # run; the allow-listed skip stays a skip and a strict xfail is still an expected failure
    result.assert_outcomes(passed=1, failed=1, errors=1, skipped=2, xfailed=1)
    for line in ("*skipped under CI*zxing not installed*", "*skipped under CI*shared dev set not present*",
                 "FAILED (module skipped under CI*test_module_skip.py*a_package_nobody_has*"):
        result.stdout.fnmatch_lines([line])
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_under_ci_a_module_skipped_alone_still_fails_the_run(pytester, monkeypatch):
    result = _run(pytester, monkeypatch, "true", "test_module_skip.py")
    result.assert_outcomes(skipped=1)
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_off_ci_skips_stay_skips(pytester, monkeypatch):
    result = _run(pytester, monkeypatch, "0")
    result.assert_outcomes(passed=1, skipped=4, xfailed=1)
    assert result.ret == pytest.ExitCode.OK


@pytest.mark.parametrize("value, expected", [("", False), ("0", False), ("false", False), ("no", False),
                                             ("off", False), ("1", True), ("true", True), ("YES", True),
                                             (" on ", True)])
def test_switches_read_one_way(monkeypatch, value, expected):
    monkeypatch.setenv("TONGBAN_REQUIRE_PG", value)
    assert env_flag("TONGBAN_REQUIRE_PG") is expected


@pytest.mark.parametrize("value, expected", [("", False), ("false", False), ("0", False), ("true", True),
                                             ("1", True), ("github-actions", True)])
def test_any_ci_value_but_an_explicit_no_means_ci(monkeypatch, value, expected):
    from tests.conftest import strict_skips

    monkeypatch.delenv("TONGBAN_NO_SKIPS", raising=False)
    monkeypatch.setenv("CI", value)
    assert strict_skips() is expected


def test_a_switch_set_to_something_else_stops_the_run(monkeypatch):
    monkeypatch.setenv("TONGBAN_REQUIRE_PG", "maybe")
    with pytest.raises(pytest.UsageError, match="TONGBAN_REQUIRE_PG"):
        env_flag("TONGBAN_REQUIRE_PG")


def test_a_mistyped_switch_stops_the_run_before_any_test(pytester, monkeypatch):
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_sample="def test_passes():\n    assert True\n")
    monkeypatch.setenv("TONGBAN_REQUIRE_PG", "maybe")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:timeout")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*TONGBAN_REQUIRE_PG='maybe'*"])
