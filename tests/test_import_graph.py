"""The textcls modules import one another without a cycle, function-level (deferred) imports included."""

from __future__ import annotations

import ast
from pathlib import Path

import textcls

PACKAGE = Path(textcls.__file__).parent


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    """The textcls modules ``path`` imports anywhere in its body (``import a.b``, ``from a import b``, relative
    imports), a name imported from a package counting as its submodule when there is one. Imports under
    ``if TYPE_CHECKING:`` are left out: they never run."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    type_only = {
        id(child)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
        for child in ast.walk(node)
    }
    found = set()
    for node in ast.walk(tree):
        if id(node) in type_only:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # `import textcls.data.fields.x` → its module
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def import_graph() -> dict[str, set[str]]:
    """Each textcls module → the textcls modules it imports (no exception is allowed: there is none)."""
    paths = sorted(PACKAGE.rglob("*.py"))
    modules = {module_name(path) for path in paths}
    return {module_name(path): imported_modules(path, modules) for path in paths}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` (``[a, b, ..., a]``), or ``None``."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for child in sorted(graph.get(node, ())):
            if state.get(child) == 1:
                return path[path.index(child) :] + [child]
            if child not in state:
                cycle = visit(child)
                if cycle:
                    return cycle
        state[node] = 2
        path.pop()
        return None

    for node in sorted(graph):
        if node not in state:
            cycle = visit(node)
            if cycle:
                return cycle
    return None


def test_textcls_has_no_import_cycle():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " → ".join(cycle)


def test_the_walk_sees_deferred_imports_and_finds_a_cycle():
    graph = import_graph()
    # textcls.cli imports its jobs inside the command functions; relative and `import a.b` forms resolve too
    assert "textcls.jobs.predict" in graph["textcls.cli"]
    assert "textcls.data.fields" in graph["textcls.data.nested"]
    # imports under `if TYPE_CHECKING:` never run: textcls.training.callbacks imports the trainer only there
    assert "textcls.training.trainer" not in graph["textcls.training.callbacks"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_data_layer_imports_no_configuration_or_jobs():
    graph = import_graph()
    # (textcls.data.loader does import textcls.training.step: TextBatches yields the trainer's Step)
    above = ("textcls.config", "textcls.config_types", "textcls.conversion", "textcls.cli", "textcls.jobs",
             "textcls.datasets")  # fmt: skip
    for module, imported in graph.items():
        if module == "textcls.data" or module.startswith("textcls.data."):
            wrong = sorted(name for name in imported if name.startswith(above))
            assert not wrong, f"{module} imports {', '.join(wrong)}"


def test_the_cli_builds_its_flags_without_importing_torch():
    """``ReadOptions`` lives in ``textcls.read_options``, not in ``textcls.data``, so that the config (and with it
    ``textcls --help`` and every one-line usage error) does not import torch."""
    import subprocess
    import sys

    code = "import sys, textcls.cli; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
