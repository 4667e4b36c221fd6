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
