"""The house rule (docs/architecture.md): each layer imports only the layers below it, and inside the
library (vob/) each group only its own and the groups below it.

Read from the code's own import statements (module level and inside functions alike),
so a new arrow that runs back up fails here before anyone has to draw the house.
"""

import ast
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LAYERS = ["vob", "warehouse", "assets", "checks", "pipelines"]  # bottom to top
# Inside the library, its own groups, bottom to top: the sample generator writes a landing zone and
# reads only the contract (and the registers' vocabulary), so it sits on top and nothing imports it.
VOB_GROUPS = ["base", "landing", "marts", "views", "sample"]


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


def vob_arrows_up(group: str) -> list[str]:
    """Imports of a library group's modules that reach a group above it."""
    above = {f"vob.{g}" for g in VOB_GROUPS[VOB_GROUPS.index(group) + 1 :]}
    return [
        f"{path.relative_to(REPO)}:{line}: imports {module}"
        for path in sorted((REPO / "vob" / group).rglob("*.py"))
        for line, module in imports(path)
        if ".".join(module.split(".")[:2]) in above
    ]


@pytest.mark.parametrize("group", VOB_GROUPS)
def test_a_library_group_imports_only_its_own_and_lower_groups(group):
    assert vob_arrows_up(group) == []


def test_every_library_module_belongs_to_a_group():
    loose = [p.name for p in (REPO / "vob").glob("*.py") if p.name != "__init__.py"]
    folders = {p.name for p in (REPO / "vob").iterdir() if p.is_dir() and (p / "__init__.py").exists()}
    assert loose == [] and folders == set(VOB_GROUPS)


def test_the_rule_sees_an_arrow_that_runs_up_inside_the_library(tmp_path, monkeypatch):
    (tmp_path / "vob" / "landing").mkdir(parents=True)
    (tmp_path / "vob" / "landing" / "bad.py").write_text("from vob.views.report import render_html\n")
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    assert vob_arrows_up("landing") == ["vob/landing/bad.py:1: imports vob.views.report"]
