"""Every name the README imports in its Python examples, and every ``textcls`` path its prose names in backticks
as an import location, is importable from where it says."""

import ast
import importlib
import re
from pathlib import Path

import pytest

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```python\n(.*?)```", README, flags=re.S)


def readme_imports():
    found = []
    for block in BLOCKS:
        for node in ast.walk(ast.parse(block)):
            if isinstance(node, ast.ImportFrom) and node.module.startswith("textcls"):
                found += [(node.module, alias.name) for alias in node.names]
            elif isinstance(node, ast.Import):
                found += [(alias.name, None) for alias in node.names if alias.name.startswith("textcls")]
    return found


def prose_imports():
    """``from textcls.x import a, b`` written inline in the prose (outside code blocks)."""
    prose = re.sub(r"```.*?```", "", README, flags=re.S)
    found = []
    for module, names in re.findall(r"`from (textcls[\w.]*) import ([\w, ]+)`", prose):
        found += [(module, name.strip()) for name in names.split(",")]
    return found


@pytest.mark.parametrize("module,name", sorted(set(readme_imports() + prose_imports()), key=str))
def test_readme_import_works(module, name):
    imported = importlib.import_module(module)
    if name is not None:
        assert hasattr(imported, name) or importlib.util.find_spec(f"{module}.{name}") is not None


def test_the_readme_has_examples_to_check():
    assert len(readme_imports()) >= 15
