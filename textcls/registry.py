"""A registry of builders by name, for text models and image models alike.

Each registry knows how to import the modules that register its built-in entries, so ``get`` works without the
caller importing them first, and an unknown name or option ends in one line listing what exists.
"""

from __future__ import annotations

import importlib
import inspect
from collections.abc import Callable

from textcls.conversion import convert_arguments
from textcls.errors import TextclsError


class Registry:
    """Builders by name.

    Args:
        kind: what the entries are, for messages (``"model"``, ``"image model"``).
        builtin_modules: modules whose import registers the built-in entries (imported on first lookup).
    """

    def __init__(self, kind: str, builtin_modules: tuple[str, ...] = ()):
        self.kind = kind
        self.builtin_modules = builtin_modules
        self._builders: dict[str, Callable] = {}

    def register(self, name: str):
        """Decorator: make a class or builder function available as ``name``."""

        def register(builder):
            self._builders[name] = builder
            return builder

        return register

    def names(self) -> list[str]:
        self._load_builtin()
        return sorted(self._builders)

    def summaries(self) -> dict[str, str]:
        """``{name: first line of its docstring}``."""
        self._load_builtin()
        return {name: (inspect.getdoc(b) or "").splitlines()[0] for name, b in sorted(self._builders.items())}

    def build(self, name: str, **options):
        """Build the entry registered as ``name`` with ``options``.

        Raises:
            TextclsError: for an unknown name (listing the valid ones) or an option the builder does not take.
        """
        self._load_builtin()
        if name not in self._builders:
            raise TextclsError(f"unknown {self.kind} {name!r}; choose one of: {', '.join(sorted(self._builders))}")
        options = convert_arguments(self._builders[name], options, "model_options")  # '1e-3' → 0.001 for a float
        try:
            return self._builders[name](**options)
        except TypeError as exc:
            if "unexpected keyword argument" not in str(exc):
                raise
            option = str(exc).rsplit(" ", 1)[-1]
            raise TextclsError(f"{self.kind} {name!r} has no option {option}") from None

    def _load_builtin(self) -> None:
        for module in self.builtin_modules:
            importlib.import_module(module)
