"""The one exception type users see: a short, actionable message instead of a traceback."""

from __future__ import annotations


class MlstutorError(Exception):
    """An error caused by input or setup that the user can fix; ``str(err)`` is a one-line explanation."""


class CorpusError(MlstutorError):
    """The notes folder is missing, empty, or holds a file that cannot be read as text."""


class IndexLoadError(MlstutorError):
    """The persisted index is missing, corrupt, or was built with other settings."""


class QueryError(MlstutorError):
    """A question that cannot be searched: empty, too long, or an unknown mode."""


class ModelError(MlstutorError):
    """A language model cannot be loaded or reached (missing package, bad checksum, dead server, wrong key)."""
