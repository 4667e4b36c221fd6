"""Former home of the prediction rows and losses, now :mod:`clinicadl.runtime.outputs` and
:mod:`clinicadl.runtime.criterion` (these names are re-exported from there)."""

from clinicadl.runtime.criterion import make_criterion, task_loss
from clinicadl.runtime.outputs import ID_COLUMNS, mode_column, output_rows, ssim

__all__ = ["ID_COLUMNS", "make_criterion", "mode_column", "output_rows", "ssim", "task_loss"]
