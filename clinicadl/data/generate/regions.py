"""Regions of the cohort model on the output grid, and regional mean intensities of a generated CAPS.

These are the features of the simplest classifier that can use the disease effect of :mod:`.cohort`: the mean
intensity in the hippocampal spheres (grey-matter loss) and around the lateral ventricles (enlargement), next to the
mean grey-matter intensity (ageing), each divided by the mean of deep white matter (the intensity reference, which
small shifts and scalings do not move), and that reference itself. The test suite and
``benchmarks/bench_generate.py`` fit a logistic regression on them to check the promised AUC.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

REGIONS = ("hippocampus", "ventricles", "grey_matter", "white_matter")
HIPPOCAMPUS_RADIUS_MM = 6.0
VENTRICLE_RIM_MM = 4


@lru_cache(maxsize=4)
def cohort_regions(resolution: int) -> dict[str, np.ndarray]:
    """Boolean masks (``REGIONS``) on the cohort grid at ``resolution`` mm, taken from the template.

    Examples
    --------
    >>> masks = cohort_regions(8)
    >>> sorted(masks), masks["white_matter"].shape
    (['grey_matter', 'hippocampus', 'ventricles', 'white_matter'], (22, 26, 23))
    """
    from scipy import ndimage

    from clinicadl.data.generate._template import HIPPOCAMPUS_MM, _anatomy, grid_axes_mm, load_template

    template = load_template(resolution)
    # the ventricles and a 4 mm rim: its mean falls as dark CSF replaces the surrounding tissue
    anatomy = _anatomy()
    ventricles = ndimage.binary_dilation(anatomy[-2], iterations=VENTRICLE_RIM_MM).astype(np.float32)
    # deep white matter, the intensity reference: far from edges, so small shifts and scalings do not move it
    deep_wm = ndimage.binary_erosion(anatomy[-1] > 0.9, iterations=2).astype(np.float32)
    sigma = float(np.sqrt((resolution**2 - 1) / 12.0))
    if sigma > 0:
        ventricles = ndimage.gaussian_filter(ventricles, sigma, mode="constant")
        deep_wm = ndimage.gaussian_filter(deep_wm, sigma, mode="constant")
    axes = grid_axes_mm(resolution)
    grid = np.meshgrid(*axes, indexing="ij")
    coordinates = np.stack([grid[c] - template.origin[c] for c in range(3)])

    def sample(volume):
        return ndimage.map_coordinates(volume, coordinates, order=1, mode="constant", cval=0.0, prefilter=False)

    hippocampus = np.zeros(grid[0].shape, dtype=bool)
    for point in HIPPOCAMPUS_MM:
        hippocampus |= sum((grid[c] - point[c]) ** 2 for c in range(3)) <= HIPPOCAMPUS_RADIUS_MM**2
    return {"hippocampus": hippocampus, "ventricles": sample(ventricles) > 0.5,
            "grey_matter": sample(template.gm) > 0.5, "white_matter": sample(deep_wm) > 0.5}


def regional_means(caps_directory: str | Path, *, baseline_only: bool = False):
    """Regional mean intensities of every image of a generated cohort, one row per session (pandas DataFrame).

    Columns: the ``data.tsv`` columns, then ``hippocampus ventricles grey_matter`` (means divided by the deep white
    matter mean) and ``white_matter`` (that mean). ``baseline_only`` keeps the first session of each participant.
    """
    import json

    import nibabel as nib
    import pandas as pd

    from clinicadl.data.generate.cohort import IMAGE_SUFFIX

    caps_directory = Path(caps_directory)
    options = json.loads((caps_directory / "generate.json").read_text())
    resolution = int(options["resolution"])
    masks = cohort_regions(resolution)
    data = pd.read_csv(caps_directory / "data.tsv", sep="\t")
    if baseline_only:
        data = data.sort_values(["participant_id", "session_id"]).groupby("participant_id").head(1)
    data = data.reset_index(drop=True)
    values = {region: [] for region in REGIONS}
    for participant, session in zip(data.participant_id, data.session_id):
        path = (caps_directory / "subjects" / participant / session / "t1_linear" /
                f"{participant}_{session}_{IMAGE_SUFFIX.format(r=resolution)}")
        image = np.asarray(nib.load(path).dataobj, dtype=np.float64)
        reference = image[masks["white_matter"]].mean()
        for region in REGIONS:
            values[region].append(image[masks[region]].mean() / (1.0 if region == "white_matter" else reference))
    return data.assign(**values)
