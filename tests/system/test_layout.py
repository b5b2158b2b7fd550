"""Tests mirror the code: a test module under tests/<package>/ is named after the module it tests,
`test_<module>.py`, or `test_<module>_<aspect>.py` when one module's tests are split by aspect. Only the
suites that cross every layer (this folder) and the browser stories (tests/e2e/) stand apart."""

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MIRRORED = ["labelapp", "inference", "config"]


def _modules_beside(test: Path, package: str) -> set[str]:
    code = REPO / package / test.parent.relative_to(REPO / "tests" / package)
    if not code.is_dir():
        return set()
    return {path.stem for path in code.glob("*.py")} | {path.name for path in code.iterdir() if path.is_dir()}


def _mirrors(test: Path, package: str) -> bool:
    tested = test.stem.removeprefix("test_")
    return any(
        tested == module or tested.startswith(module + "_") for module in _modules_beside(test, package)
    )


@pytest.mark.parametrize("package", MIRRORED)
def test_every_test_module_is_named_after_the_module_it_tests(package):
    tests = sorted((REPO / "tests" / package).rglob("test_*.py"))
    assert tests, f"no tests found under tests/{package}"
    strays = [str(test.relative_to(REPO)) for test in tests if not _mirrors(test, package)]
    assert not strays, f"test modules that name no module of {package}/: {strays}"


def test_no_test_module_sits_at_the_root_of_tests():
    assert not sorted(path.name for path in (REPO / "tests").glob("test_*.py"))
