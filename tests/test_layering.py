"""The dependency rule, checked on the source: imports only point down the layers, and no product module
imports the evaluation subpackage.

Layers, bottom to top: ingest → encoders → compression → llm → index → app. A module may import its own
layer and those below it. ``longvid.app.eval`` (evaluations, benchmarks, synthetic media) sits above the
product: it may import anything, nothing outside it may import it. Every import counts, including the
ones deferred into functions, since they run all the same.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ["ingest", "encoders", "compression", "llm", "index", "app"]
EVAL = "longvid.app.eval"


def module_name(path: Path) -> str:
    """``app/eval/niah.py`` → ``longvid.app.eval.niah`` (the installed name)."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(["longvid", *parts])


def imported_modules(path: Path) -> list[tuple[int, list[str]]]:
    """``(line, absolute module names)`` for every import statement in the file, relative imports resolved.

    ``from X import y`` may import the module ``X.y``, so it stands for both ``X`` and ``X.y``.
    """
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, [alias.name]) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                target = ".".join(parts[: len(parts) - node.level + 1] + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            found.append((node.lineno, [target] + [f"{target}.{alias.name}" for alias in node.names]))
    return found


def violations(path: Path) -> list[str]:
    """What ``path`` imports against the rule, as readable lines."""
    name = module_name(path)
    layer = LAYERS.index(name.split(".")[1])
    is_eval = name == EVAL or name.startswith(EVAL + ".")
    bad = []
    for line, targets in imported_modules(path):
        for target in targets:
            parts = target.split(".")
            if parts[0] != "longvid" or len(parts) < 2 or parts[1] not in LAYERS:
                continue  # third-party, stdlib, or longvid.assets (data)
            if LAYERS.index(parts[1]) > layer:
                bad.append(f"{path.relative_to(ROOT)}:{line}: layer {name.split('.')[1]} imports {target}")
                break
            if not is_eval and (target == EVAL or target.startswith(EVAL + ".")):
                bad.append(f"{path.relative_to(ROOT)}:{line}: product module imports {target}")
                break
    return bad


def sources() -> list[Path]:
    return sorted(p for layer in LAYERS for p in (ROOT / layer).rglob("*.py"))


def test_every_package_is_checked():
    names = {module_name(p) for p in sources()}
    assert {"longvid.ingest.types", "longvid.llm.videollm", "longvid.app.cli", "longvid.app.eval.niah"} <= names


@pytest.mark.parametrize("path", sources(), ids=lambda p: str(p.relative_to(ROOT)))
def test_imports_point_down(path):
    assert violations(path) == []


def test_the_check_catches_upward_and_eval_imports(tmp_path, monkeypatch):
    """The rule itself: an upward import, a relative one that climbs out, and product → eval all fail."""
    fake = tmp_path / "root"
    for rel, text in {
        "ingest/bad.py": "def f():\n    from longvid.index import EventIndex\n",
        "llm/climb.py": "from ..app.library import Library\n",
        "app/web2.py": "from longvid.app.eval import synth\n",
        "app/ok.py": "from longvid.llm import Answer\nfrom . import library\n",
        "app/eval/fine.py": "from longvid.app.eval.synth import Shot\nfrom longvid.app import Library\n",
    }.items():
        (fake / rel).parent.mkdir(parents=True, exist_ok=True)
        (fake / rel).write_text(text)
    monkeypatch.setitem(globals(), "ROOT", fake)
    found = {rel: violations(fake / rel) for rel in ["ingest/bad.py", "llm/climb.py", "app/web2.py", "app/ok.py",
                                                     "app/eval/fine.py"]}  # fmt: skip
    assert found["ingest/bad.py"] == ["ingest/bad.py:2: layer ingest imports longvid.index"]
    assert found["llm/climb.py"] == ["llm/climb.py:1: layer llm imports longvid.app.library"]
    assert found["app/web2.py"] == ["app/web2.py:1: product module imports longvid.app.eval"]
    assert found["app/ok.py"] == [] and found["app/eval/fine.py"] == []
