"""The house rule (docs/architecture.md): each layer imports only the layers below it.

Read from the code's own import statements (module level and inside functions alike),
so a new arrow that runs back up fails here before anyone has to draw the house.
"""

import ast
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAYERS = ["vob", "warehouse", "assets", "checks", "pipelines"]  # bottom to top


def imports(path: Path) -> list[tuple[int, str]]:
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
        elif isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
    return found


def arrows_up(layer: str) -> list[str]:
    floor = LAYERS.index(layer)
    above = set(LAYERS[floor + 1 :]) | ({"dagster", "dagster_shared"} if layer == "vob" else set())
    return [
        f"{path.relative_to(REPO)}:{line}: imports {module}"
        for path in sorted((REPO / layer).rglob("*.py"))
        for line, module in imports(path)
        if module.split(".")[0] in above
    ]


@pytest.mark.parametrize("layer", LAYERS)
def test_a_layer_imports_only_the_layers_below_it(layer):  # and vob/ never imports dagster
    assert arrows_up(layer) == []


def test_the_rule_sees_an_arrow_that_runs_up(tmp_path, monkeypatch):
    (tmp_path / "warehouse").mkdir()
    (tmp_path / "warehouse" / "bad.py").write_text("def f():\n    from pipelines.cli import main\n")
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    assert arrows_up("warehouse") == ["warehouse/bad.py:2: imports pipelines.cli"]
