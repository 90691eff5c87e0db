"""The one exception type users see: a short, actionable message instead of a traceback."""

from __future__ import annotations

import errno


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


class StorageError(MlstutorError):
    """A file the tutor keeps (index, progress database, an uploaded note) cannot be written or read: the disk is
    full, the file is locked by another program, or it is damaged."""


class SettingsError(MlstutorError, ValueError):
    """A setting (an ``MLSTUTOR_*`` variable or a flag) has a value of the wrong type or out of range."""


_OS_REASONS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EFBIG: "the file size limit was reached",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
}


def os_reason(exc: OSError) -> str:
    """A few words for why a file operation failed ("the disk is full"), without the errno noise."""
    return _OS_REASONS.get(exc.errno or 0) or (exc.strerror or type(exc).__name__).lower()
