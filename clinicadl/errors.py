"""The exception and warning hierarchy of clinicadl.

Every error a user can cause (bad file, bad option, bad data) is a :class:`ClinicaDLError`.
The command line catches it once, prints its message on one line and exits with status 1;
anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class ClinicaDLError(Exception):
    """Base class of the errors a user can cause; the message says what is wrong and how to fix it."""


class InputError(ClinicaDLError, ValueError):
    """Invalid data or option: missing column, NaN score, unknown metric, bad probability, ..."""


class MAPSError(ClinicaDLError):
    """A folder that is not a readable MAPS, an unknown data group, split or selection metric."""


class UndefinedMetricWarning(UserWarning):
    """A metric is undefined on the data given (e.g. AUC with one class); its value is NaN."""


class CAPSError(ClinicaDLError):
    """A folder that is not a readable CAPS, missing images, or an extraction JSON that does not match the CAPS."""


_OS_FIXES = {
    "ENOSPC": "free some space on that disk, or write the output to another disk",
    "EDQUOT": "free some space within your disk quota, or write the output to another disk",
    "EROFS": "the file system is read-only: choose an output folder on a writable disk",
    "EACCES": "make it writable for you (chmod/chown) or choose another output folder",
    "EPERM": "make it writable for you (chmod/chown) or choose another output folder",
    "ENOENT": "check the path (a folder on the way may have been removed), then run the command again",
    "EISDIR": "give a file path, not a folder",
    "ENOTDIR": "a part of the path is a file, not a folder: check the path",
    "EMFILE": "too many open files: raise the limit (ulimit -n) or use fewer processes (--n_proc)",
}


def os_error_message(error: OSError) -> str:
    """One line for an operating-system error met while reading or writing: the path, the cause and the fix.

    Full disks, read-only folders and missing permissions are user errors: the command line prints this line
    (no traceback) and exits with status 1; whatever was being written was written atomically, so nothing is
    left half-written, and running the same command again after the fix goes on.

    Examples
    --------
    >>> import errno
    >>> os_error_message(OSError(errno.ENOSPC, "No space left on device", "/data/maps/split-0/model.pth.tar"))
    'cannot write /data/maps/split-0/model.pth.tar: No space left on device; free some space on that disk, or \
write the output to another disk, then run the same command again.'
    """
    import errno as errno_module

    code = errno_module.errorcode.get(error.errno or 0, "")
    path = error.filename if error.filename is not None else ""
    if error.filename2 is not None:
        path = f"{path} -> {error.filename2}"
    reason = error.strerror or str(error) or type(error).__name__
    fix = _OS_FIXES.get(code, "check the path and its permissions")
    verb = "read" if code in ("ENOENT", "EISDIR", "ENOTDIR") else "write"
    where = f"cannot {verb} {path}" if path else f"operating-system error ({type(error).__name__})"
    then = "" if code in ("ENOENT", "EISDIR", "ENOTDIR") else ", then run the same command again"
    return f"{where}: {reason}; {fix}{then}."


def plain(value: object) -> str:
    """``repr`` of a value for a message, with numpy scalars written as plain numbers (``0.3``, not
    ``np.float64(0.3)``).

    Examples
    --------
    >>> import numpy as np
    >>> plain(np.float64(0.3)), plain(np.int64(2)), plain("a"), plain([1, 2])
    ('0.3', '2', "'a'", '[1, 2]')
    """
    if type(value).__module__ == "numpy" and getattr(value, "ndim", None) == 0 and hasattr(value, "item"):
        value = value.item()
    return repr(value)
