"""The HTML report in a real browser: headless Chromium opens it without console errors or outside requests,
and its screenshot shows the plots. Skipped where no Chromium is installed (``apt-get install chromium``)."""

from __future__ import annotations

import re
import shutil
import subprocess

import numpy as np
import pytest
from evaluate.test_procedure_maps import write_procedure

from clinicadl.evaluate.report import write_report

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
BROWSER = next((path for path in map(shutil.which, BROWSERS) if path), None)

pytestmark = pytest.mark.skipif(BROWSER is None, reason=f"no Chromium found ({', '.join(BROWSERS)})")


def _chromium(tmp_path, *args) -> subprocess.CompletedProcess:
    command = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--no-first-run",
               f"--user-data-dir={tmp_path / 'profile'}", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    root = tmp_path_factory.mktemp("browser")
    maps = write_procedure(root / "maps", n_replicates=3, n_splits=2, n_participants=30)
    path, _ = write_report([maps], root / "report.html")
    return path


def test_opens_without_console_errors_or_outside_requests(report, tmp_path):
    result = _chromium(tmp_path, "--enable-logging=stderr", "--v=1", "--dump-dom", report.as_uri())
    assert result.returncode == 0, result.stderr[-2000:]
    assert "<h1>clinicadl report</h1>" in result.stdout
    assert result.stdout.count('src="data:image/png;base64,') == 2
    console = [line for line in result.stderr.splitlines() if ":CONSOLE" in line]
    assert not console, console
    requested = set(re.findall(r"URLLoader::Start: (\S+)", result.stderr))
    assert requested <= {report.as_uri()}, requested


def test_screenshot_shows_the_plots(report, tmp_path):
    from matplotlib.image import imread

    shot = tmp_path / "shot.png"
    result = _chromium(tmp_path, "--window-size=1200,2400", f"--screenshot={shot}", report.as_uri())
    assert result.returncode == 0 and shot.is_file(), result.stderr[-2000:]
    pixels = imread(shot)[..., :3]
    # matplotlib's default blue (0.12, 0.47, 0.71) marks the models' intervals in the forest plot
    blue = np.all(np.abs(pixels - np.array([0.12, 0.47, 0.71])) < 0.08, axis=-1)
    # the procedure's expected performance is drawn in red
    red = (pixels[..., 0] > 0.7) & (pixels[..., 1] < 0.3) & (pixels[..., 2] < 0.3)
    assert blue.sum() > 500, blue.sum()
    assert red.sum() > 100, red.sum()
