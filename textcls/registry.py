"""A registry of builders by name, for text models and image models alike.

A builder is a class or function registered under a name; its signature is the contract: the parameters it
declares (with their defaults and annotations) are the only options it takes. :meth:`Registry.check` binds options
to that signature (``inspect.signature(builder).bind``) before anything is built, so an unknown option, a
missing one or a value of the wrong type ends in one line instead of a ``TypeError`` from deep inside the builder.

Built-in entries are found without a hand-kept list: on first lookup the registry imports every module of its
package (``textcls.models``, ``textcls.image.models``), and a model file dropped into that package registers
itself. Models defined elsewhere register when their module is imported (``textcls --model-module FILE_OR_MODULE``
on the command line, see :func:`import_model_module`).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
import sys
import types
from collections.abc import Callable
from pathlib import Path

from textcls.conversion import convert
from textcls.errors import TextclsError


class Registry:
    """Builders by name.

    Args:
        kind: what the entries are, for messages (``"model"``, ``"image model"``).
        package: the package whose modules register the built-in entries (all imported on first lookup).
        given: parameters the caller supplies (``num_classes``), left out of the options listed in messages.
    """

    def __init__(self, kind: str, package: str | None = None, given: tuple[str, ...] = ()):
        self.kind = kind
        self.package = package
        self.given = given
        self._builders: dict[str, Callable] = {}
        self._loaded = package is None

    def register(self, name: str):
        """Decorator: make a class or builder function available as ``name``.

        Registering a name again from the module that registered it first replaces the entry (a re-import or a
        notebook cell run twice); from any other module it is an error, so two models cannot claim one name.
        """

        def register(builder):
            existing = self._builders.get(name)
            if existing is not None and existing.__module__ != builder.__module__:
                raise TextclsError(
                    f"{self.kind} {name!r} is already registered by {existing.__module__}; choose another name"
                )
            self._builders[name] = builder
            return builder

        return register

    def unregister(self, name: str) -> None:
        """Remove ``name`` (for tests and notebooks that registered a temporary model)."""
        self._builders.pop(name, None)

    def names(self) -> list[str]:
        self._load_builtin()
        return sorted(self._builders)

    def summaries(self) -> dict[str, str]:
        """``{name: first line of its docstring}``."""
        self._load_builtin()
        return {name: (inspect.getdoc(b) or "").splitlines()[0] for name, b in sorted(self._builders.items())}

    def builder(self, name: str) -> Callable:
        """The builder registered as ``name``.

        Raises:
            TextclsError: for an unknown name, listing the valid ones.
        """
        self._load_builtin()
        if name not in self._builders:
            raise TextclsError(
                f"unknown {self.kind} {name!r}; choose one of: {', '.join(sorted(self._builders))} (a model of your "
                "own: import its module first, or pass textcls --model-module FILE)"
            )
        return self._builders[name]

    def parameters(self, name: str) -> dict[str, inspect.Parameter]:
        """The parameters of ``name``'s builder, annotations evaluated where they can be."""
        return dict(signature_of(self.builder(name)).parameters)

    def check(self, name: str, options: dict) -> dict:
        """Bind ``options`` to ``name``'s builder without building it; returns them with values converted.

        Values are converted to their annotations by :func:`textcls.conversion.convert` (YAML reads ``1e-3`` as a
        string: it becomes a ``float`` where the annotation says ``float``); unannotated options pass as they are.

        Raises:
            TextclsError: (one line) for an unknown name, an option the builder does not take (naming the other
                entries that do take it), a required option that is missing, or a value of the wrong type.
        """
        parameters = self.parameters(name)
        if not any(p.kind is p.VAR_KEYWORD for p in parameters.values()):
            for option in options:
                if option not in parameters:
                    raise TextclsError(self._unknown_option(name, option, parameters))
        try:
            bound = signature_of(self.builder(name)).bind(**options)
        except TypeError as exc:  # bind's own message: "missing a required argument: 'x'"
            raise TextclsError(f"{self.kind} {name!r}: {exc}") from None
        return {
            option: convert(value, parameters[option].annotation, f"model_options.{option}")
            if option in parameters
            else value
            for option, value in bound.arguments.items()
        }

    def build(self, name: str, **options):
        """Build the entry registered as ``name`` with ``options``, checked first (:meth:`check`).

        A ``ValueError`` raised by the builder (an impossible value, such as a dropout of 1.5) becomes a one-line
        :class:`TextclsError`; any other exception from the builder is a bug and keeps its traceback.
        """
        options = self.check(name, options)
        try:
            return self.builder(name)(**options)
        except TextclsError:
            raise
        except ValueError as exc:
            reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            raise TextclsError(f"{self.kind} {name!r} cannot be built with these options: {reason}") from None

    def _unknown_option(self, name: str, option: str, parameters: dict) -> str:
        own = ", ".join(sorted(set(parameters) - set(self.given))) or "none"
        others = [other for other in self.names() if other != name and option in self.parameters(other)]
        where = f"; {', '.join(repr(o) for o in others)} {'takes' if len(others) == 1 else 'take'} it" if others else ""
        return f"{self.kind} {name!r} has no option {option!r}{where} (options of {name!r}: {own})"

    def _load_builtin(self) -> None:
        if self._loaded:
            return
        self._loaded = True
        package = importlib.import_module(self.package)
        for module in pkgutil.iter_modules(package.__path__):
            importlib.import_module(f"{self.package}.{module.name}")


def signature_of(builder: Callable) -> inspect.Signature:
    """``inspect.signature`` with string annotations evaluated (``from __future__ import annotations``), or left
    as strings when a name in them cannot be resolved."""
    try:
        return inspect.signature(builder, eval_str=True)
    except NameError:
        return inspect.signature(builder)


def import_model_module(spec: str) -> types.ModuleType:
    """Import a module that registers models: a ``.py`` file path, or a dotted module name on ``sys.path``.

    Importing runs the module's code, so this is only ever done for a module the user names on the command line
    or in Python, never for one named in a config or a run directory.

    Raises:
        TextclsError: when the file or module does not exist.
    """
    if spec.endswith(".py") or "/" in spec or "\\" in spec:
        path = Path(spec).resolve()
        if not path.is_file():
            raise TextclsError(f"model module not found: {spec} (give a .py file or an importable module name)")
        name = path.stem
        loaded = sys.modules.get(name)
        if loaded is not None and getattr(loaded, "__file__", None) == str(path):
            return loaded
        module_spec = importlib.util.spec_from_file_location(name, path)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module  # before running it, as a normal import does (dataclasses look it up)
        try:
            module_spec.loader.exec_module(module)
        except BaseException:
            del sys.modules[name]
            raise
        return module
    try:
        return importlib.import_module(spec)
    except ModuleNotFoundError as exc:
        if exc.name is None or not (spec == exc.name or spec.startswith(exc.name + ".")):
            raise  # the module exists but imports something missing: its own problem, with its traceback
        raise TextclsError(f"model module {spec!r} not found (give a .py file or an importable module name)") from None
