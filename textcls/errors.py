"""The one exception type for mistakes a user can make (bad path, bad file, unknown name).

The CLI prints such an error as one line and exits with status 2; anything else is a bug and keeps its
traceback.
"""


class TextclsError(Exception):
    """A problem the user can fix; the message names the problem and the fix."""


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
