"""Figures of ``clinicadl evaluate`` made without pyplot: one :class:`matplotlib.figure.Figure` per plot, saved
as PNG atomically.

pyplot keeps a registry of figures, picks an interactive backend and imports the GUI machinery; a command that
writes one PNG and exits needs none of it. A bare ``Figure`` renders with the Agg canvas on ``savefig`` and is
freed with its last reference, so nothing has to be closed (matplotlib's "Embedding in a web application
server" example does the same).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from clinicadl.atomic import atomic_output

__all__ = ["margins_for_labels", "save_png", "subplots"]


def subplots(nrows: int = 1, ncols: int = 1, *, figsize: tuple[float, float], **kwargs: Any):
    """A new figure and its grid of axes, as ``matplotlib.pyplot.subplots`` returns them (``kwargs``: those of
    :meth:`matplotlib.figure.Figure.subplots`, e.g. ``squeeze``, ``gridspec_kw``)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize)
    return figure, figure.subplots(nrows, ncols, **kwargs)


def save_png(figure, path: str | Path, *, dpi: int, tight: bool = True) -> Path:
    """Write ``figure`` to ``path`` as PNG (write to a temporary file, then rename); ``tight``: one
    ``tight_layout`` pass first."""
    if tight:
        figure.tight_layout()
    path = Path(path)
    with atomic_output(path) as tmp:
        figure.savefig(tmp, dpi=dpi, format="png")
    return path


def margins_for_labels(figure, labels: list[str], *, top: float = 0.6, bottom: float = 0.4, gap: float = 0.5,
                       right: float = 0.25) -> None:
    """Place the axes of a one-column figure with margins in inches, the left one fitted to the widest of the
    y tick ``labels``: what ``tight_layout`` gives a forest plot, from one measure per label instead of a full
    draw of every axis.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
    labels : list of str
        The y tick labels of every axes (tick label font of the rcParams).
    top, bottom, right : float
        Margins in inches (``top`` holds the title and the first panel's title, ``bottom`` the x tick labels).
    gap : float
        Space between two panels in inches (x tick labels of one panel and the title of the next).
    """
    from matplotlib import rcParams
    from matplotlib.backends.backend_agg import RendererAgg
    from matplotlib.font_manager import FontProperties

    font = FontProperties(size=rcParams["ytick.labelsize"])
    renderer = RendererAgg(1, 1, figure.dpi)
    widest = max((renderer.get_text_width_height_descent(t, font, ismath=False)[0] for t in labels), default=0.0)
    width, height = figure.get_size_inches()
    n_rows = figure.axes[0].get_gridspec().nrows if figure.axes else 1
    spanned = height - top - bottom
    mean_axes = (spanned - gap * (n_rows - 1)) / n_rows
    figure.subplots_adjust(left=min(0.6, (widest / figure.dpi + 0.3) / width), right=1 - right / width,
                           top=1 - top / height, bottom=bottom / height, hspace=gap / max(mean_axes, 1e-3))
