"""Figures of results TSVs: drawn now or by a background process, and whether a figure still shows its TSVs.

Drawing a figure costs importing matplotlib and rendering, about half a second: half of what a person waits for
``clinicadl evaluate model`` at a terminal. There, the command writes its numbers, starts a process that draws the
figure *from the TSVs just written*, and returns; the PNG appears a moment later. Where nobody watches (a script,
a pipe, a SLURM job, whose processes end with the job) the figure is drawn before the command returns. The
environment variable ``CLINICADL_FIGURES`` chooses: ``auto`` (the default, as above), ``background``, ``now`` or
``off`` (no figure; an earlier one is removed, since it would show other numbers).

Every figure records, in a PNG text chunk (``clinicadl-sources``), the SHA-256 of the TSVs it was drawn from.
:func:`current_figure` (used by ``evaluate report``) returns a figure only when it shows its TSVs as they are now
and draws it again otherwise: a figure still being drawn, a background process that failed (its traceback is in
``<figure>.log``) or results recomputed since all end as a figure of the current numbers.
"""

from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import traceback
import zlib
from collections.abc import Callable, Sequence
from pathlib import Path

from clinicadl.atomic import atomic_write_bytes
from clinicadl.evaluate.provenance import file_digest

__all__ = ["FIGURES_ENV", "current_figure", "draw_figure", "figure_mode", "figure_note", "figure_sources",
           "png_text", "request_figure", "with_png_text"]

FIGURES_ENV = "CLINICADL_FIGURES"
MODES = ("auto", "background", "now", "off")
SOURCES_KEY = "clinicadl-sources"
_PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


# --------------------------------------------------------------------------------------------- what is drawn
def _model_intervals(sources: Sequence[Path], path: Path) -> Path:
    from clinicadl.evaluate.plot import plot_model_intervals
    from clinicadl.maps.results_io import read_results_tsv

    return plot_model_intervals(read_results_tsv(sources[0]), path)


def _comparison(sources: Sequence[Path], path: Path) -> Path:
    from clinicadl.evaluate.plot import plot_comparison
    from clinicadl.maps.results_io import read_results_tsv

    return plot_comparison(read_results_tsv(sources[0]), path)


def _procedure_models(sources: Sequence[Path], path: Path) -> Path:
    from clinicadl.evaluate.procedure_plots import plot_replicate_forest
    from clinicadl.maps.results_io import read_results_tsv

    return plot_replicate_forest(read_results_tsv(sources[0]), read_results_tsv(sources[1]), path)


def _procedure_variance(sources: Sequence[Path], path: Path) -> Path:
    from clinicadl.evaluate.procedure_plots import plot_variance_components
    from clinicadl.maps.results_io import read_results_tsv

    return plot_variance_components(read_results_tsv(sources[0]), path)


KINDS: dict[str, Callable[[Sequence[Path], Path], Path]] = {
    "model_intervals": _model_intervals,  # <results>.tsv -> forest plot of each metric's interval
    "comparison": _comparison,  # <comparison>.tsv -> forest plot of the differences A - B
    "procedure_models": _procedure_models,  # procedure_models.tsv, procedure_expected.tsv
    "procedure_variance": _procedure_variance,  # procedure_variance.tsv
}
"""Each kind of figure and how it is drawn from its source TSVs (in this order)."""


# --------------------------------------------------------------------------------------------- PNG text chunks
def _chunks(data: bytes):
    if not data.startswith(_PNG_SIGNATURE):
        raise ValueError("not a PNG file")
    at = len(_PNG_SIGNATURE)
    while at + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[at:at + 8])
        yield at, kind, data[at + 8:at + 8 + length]
        at += 12 + length


def with_png_text(data: bytes, key: str, value: str) -> bytes:
    """``data`` (a PNG) with a ``tEXt`` chunk ``key = value`` added before its end (PNG specification, section
    11.3.4.3: Latin-1 keyword of 1-79 characters, a zero byte, Latin-1 text).

    Examples
    --------
    >>> png = bytes.fromhex("89504e470d0a1a0a0000000049454e44ae426082")  # signature + IEND only
    >>> png_text(with_png_text(png, "Author", "clinicadl"))
    {'Author': 'clinicadl'}
    """
    end = next(at for at, kind, _ in _chunks(data) if kind == b"IEND")
    body = b"tEXt" + key.encode("latin-1") + b"\0" + value.encode("latin-1")
    chunk = struct.pack(">I", len(body) - 4) + body + struct.pack(">I", zlib.crc32(body))
    return data[:end] + chunk + data[end:]


def png_text(data: bytes) -> dict[str, str]:
    """The ``tEXt`` chunks of a PNG, as ``{keyword: text}``."""
    found = {}
    for _, kind, body in _chunks(data):
        if kind == b"tEXt" and b"\0" in body:
            key, value = body.split(b"\0", 1)
            found[key.decode("latin-1")] = value.decode("latin-1")
    return found


def _digests(sources: Sequence[Path]) -> dict[str, str]:
    return {Path(s).name: file_digest(Path(s)) for s in sources}


def figure_sources(path: str | Path) -> dict[str, str] | None:
    """``{TSV name: SHA-256}`` of the TSVs the figure ``path`` was drawn from; None when it has no record
    (missing, unreadable, or drawn by an earlier version)."""
    try:
        recorded = png_text(Path(path).read_bytes()).get(SOURCES_KEY)
        return None if recorded is None else dict(json.loads(recorded))
    except (OSError, ValueError):
        return None


# --------------------------------------------------------------------------------------------- drawing
def draw_figure(kind: str, sources: Sequence[str | Path], path: str | Path, *,
                digests: dict[str, str] | None = None) -> Path:
    """Draw the figure ``kind`` of ``sources`` into ``path`` now (atomically), recording their SHA-256
    (``digests``, when the caller has them already)."""
    sources, path = [Path(s) for s in sources], Path(path)
    digests = digests or _digests(sources)
    drawn = path.with_name(f".{path.stem}.drawing-{os.getpid()}.png")
    try:
        KINDS[kind](sources, drawn)
        data = with_png_text(drawn.read_bytes(), SOURCES_KEY, json.dumps(digests, sort_keys=True))
    finally:
        drawn.unlink(missing_ok=True)
    atomic_write_bytes(path, data)
    path.with_name(path.name + ".log").unlink(missing_ok=True)
    return path


def figure_mode() -> str:
    """How figures are drawn in this process: ``background``, ``now`` or ``off`` (``CLINICADL_FIGURES``)."""
    mode = os.environ.get(FIGURES_ENV, "auto").strip().lower() or "auto"
    if mode not in MODES:
        from clinicadl.errors import InputError

        raise InputError(f"environment variable {FIGURES_ENV}={mode!r} is not one of {', '.join(MODES)}; "
                         f"unset it or choose one (auto: in the background at a terminal, else before exiting).")
    if mode != "auto":
        return mode
    interactive = sys.stdout is not None and sys.stdout.isatty()
    return "background" if interactive and "SLURM_JOB_ID" not in os.environ else "now"


def figure_note() -> str | None:
    """What a command tells the user about its figures when they are not drawn yet at its end (None otherwise)."""
    mode = figure_mode()
    if mode == "background":
        return (f"the figures (.png) are being drawn in the background and appear within seconds "
                f"({FIGURES_ENV}=now to wait for them).")
    if mode == "off":
        return f"no figure drawn ({FIGURES_ENV}=off); `clinicadl evaluate report` draws them."
    return None


def request_figure(kind: str, sources: Sequence[str | Path], path: str | Path, mode: str | None = None
                   ) -> Path | None:
    """The figure ``kind`` of ``sources`` at ``path``, drawn as :func:`figure_mode` says.

    Returns
    -------
    Path or None
        ``path`` (with ``background``: where the figure will appear), None with ``off``.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown figure kind {kind!r}; known: {', '.join(KINDS)}")
    path, mode = Path(path), mode or figure_mode()
    if mode == "now":
        return draw_figure(kind, sources, path)
    path.unlink(missing_ok=True)  # an earlier figure shows other numbers
    if mode == "off":
        return None
    subprocess.Popen([sys.executable, "-m", __name__, kind, str(path), *map(str, sources)],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                     start_new_session=True, close_fds=True)
    return path


def current_figure(kind: str, sources: Sequence[str | Path], path: str | Path) -> Path | None:
    """``path`` when it shows ``sources`` as they are now, else drawn again from them; None when a source is
    missing (nothing to draw)."""
    sources, path = [Path(s) for s in sources], Path(path)
    if not all(s.is_file() for s in sources):
        return None
    digests = _digests(sources)
    if figure_sources(path) == digests:
        return path
    return draw_figure(kind, sources, path, digests=digests)


def main(argv: Sequence[str]) -> int:
    """Entry point of the background process: ``python -m clinicadl.evaluate.figure_jobs KIND FIGURE TSV...``.
    A failure leaves its traceback in ``FIGURE.log`` (and no figure, which the report draws again)."""
    kind, path, *sources = argv
    try:
        draw_figure(kind, sources, path)
    except Exception:
        Path(path + ".log").write_text(traceback.format_exc())
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
