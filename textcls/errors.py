"""The exception types for mistakes a user can make (bad path, bad file, unknown name, bad argument).

The CLI prints such an error as one line and exits with status 2; anything else is a bug and keeps its
traceback. Where legacy torchtext raised ``ValueError`` or ``AssertionError`` for the same mistake, the textcls
error also subclasses that built-in, so a caller's ``except ValueError`` keeps working after the port.
"""


class TextclsError(Exception):
    """A problem the user can fix; the message names the problem and the fix."""


class ArgumentError(TextclsError, ValueError):
    """An argument value that cannot work (legacy torchtext raised ``ValueError`` for these)."""


class ArgumentAssertionError(TextclsError, AssertionError):
    """An argument that fails a check legacy torchtext made with ``assert`` (``split_ratio`` out of range, ...)."""


class DataError(TextclsError, ValueError):
    """A problem in an input file, located by file and line where that is known.

    Args:
        message: what is wrong and how to fix it.
        path: the file, if any.
        line: the 1-based line (or record) number, if known.
    """

    def __init__(self, message: str, path=None, line: int | None = None):
        self.path = None if path is None else str(path)
        self.line = line
        where = ""
        if self.path is not None:
            where = f"{self.path}:{line}: " if line is not None else f"{self.path}: "
        super().__init__(where + message)
