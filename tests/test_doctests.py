"""Every docstring example in the package runs, and says what the code really does.

The modules are imported by their installed names (``longvid.ingest.types``, not ``ingest.types``), so the
examples see the same classes as the rest of the code. Examples run from the repository root (they may
name ``assets/demo.mp4``); an example that writes files writes them in a temporary folder it names.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

from .test_layering import module_name, sources

ROOT = Path(__file__).resolve().parents[1]
FLAGS = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE


def _with_examples() -> list[str]:
    return [module_name(p) for p in sources() if ">>>" in p.read_text()]


def test_examples_are_found():
    names = _with_examples()
    assert "longvid.ingest.types" in names and "longvid.app.argtypes" in names and len(names) > 30


@pytest.mark.parametrize("name", _with_examples())
def test_docstring_examples(name, monkeypatch):
    monkeypatch.chdir(ROOT)
    module = importlib.import_module(name)
    tests = [t for t in doctest.DocTestFinder().find(module, name) if t.examples]
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    report: list[str] = []
    before = set(ROOT.iterdir())
    for test in tests:
        runner.run(test, out=report.append)
    results = runner.summarize(verbose=False)
    assert results.failed == 0, "".join(report)
    assert set(ROOT.iterdir()) == before, f"{name}: an example left files in the repository"
    assert results.attempted > 0 or all(all(ex.options.get(doctest.SKIP) for ex in t.examples) for t in tests), (
        f"{name}: no example ran"
    )
