"""``generate trivial``: images that any classifier separates perfectly (ClinicaDL 1.x ``generate trivial``).

Input: a t1-linear CAPS in MNI space (e.g. made by ``generate cohort``). Image ``i`` (of ``2 * n_subjects``) is the
baseline image of input participant ``i // 2``; even ``i`` are AD, whose LEFT hemisphere loses ``atrophy_percent`` %
of its grey-matter intensity, odd ``i`` are CN, whose RIGHT hemisphere does. Upstream downloads AAL2-based masks;
here the masks are the grey-matter probability of the MNI152 template (resampled to the image through its affine)
times a smooth hemisphere weight (a logistic step of 2 mm width across x = 0 mm), so nothing is downloaded.
Participants are ``sub-TRIV<i>``; each image keeps its source's session and file name pattern.
"""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from clinicadl.data.generate.random_caps import DATA_COLUMNS, FromCapsResult
from clinicadl.errors import InputError

HEMISPHERE_STEP_MM = 2.0


def hemisphere_atrophy_mask(shape: tuple[int, ...], affine: np.ndarray, hemisphere: str) -> np.ndarray:
    """Grey-matter probability of the template in one hemisphere (``left``: x < 0 mm), on an MNI-space grid."""
    from scipy import ndimage

    from clinicadl.data.generate._template import _anatomy

    gm, origin = _anatomy()[1], _anatomy()[2]
    index = np.indices(shape, dtype=np.float64).reshape(3, -1)
    world = affine[:3, :3] @ index + affine[:3, 3:4]
    probability = ndimage.map_coordinates(gm, world - origin[:, None], order=1, mode="constant", cval=0.0,
                                          prefilter=False)
    sign = -1.0 if hemisphere == "left" else 1.0
    side = 1.0 / (1.0 + np.exp(-sign * world[0] / HEMISPHERE_STEP_MM))
    return (probability * side).reshape(shape).astype(np.float32)


def _mask_files(mask_path: str | Path) -> tuple[Path, Path]:
    """Upstream's ``mask-1.nii`` (AD) and ``mask-2.nii`` (CN) of the folder ``mask_path`` (``.nii.gz`` also)."""
    folder = Path(mask_path)
    found = []
    for name in ("mask-1", "mask-2"):
        candidates = [folder / f"{name}{ext}" for ext in (".nii", ".nii.gz") if (folder / f"{name}{ext}").is_file()]
        if not folder.is_dir() or not candidates:
            raise InputError(f"--mask_path {folder} must be a folder holding mask-1.nii (AD) and mask-2.nii (CN), as "
                             "upstream's; leave it out to use the MNI152 template's hemisphere masks.")
        found.append(candidates[0])
    return found[0], found[1]


def generate_trivial(caps_directory: str | Path, output: str | Path, *, n_subjects: int = 300,
                     atrophy_percent: float = 60.0, participants_tsv: str | Path | None = None,
                     use_uncropped_image: bool = False, seed: int = 0, preprocessing: str = "t1-linear",
                     tracer: str | None = None, suvr_reference_region: str | None = None,
                     mask_path: str | Path | None = None) -> FromCapsResult:
    """Write ``n_subjects`` AD and ``n_subjects`` CN images with one hemisphere atrophied (module docstring).

    ``mask_path`` is upstream's folder of masks: ``mask-1.nii`` (AD) and ``mask-2.nii`` (CN), whose non-zero voxels
    replace the template hemisphere masks (resampled to each image through the affines). ``seed`` is recorded only:
    the transformation is deterministic.
    """
    import nibabel as nib

    from clinicadl import __version__
    from clinicadl.data.generate._input_caps import input_images, renamed
    from clinicadl.data.generate._nifti import mask_on_grid, write_nifti
    from clinicadl.data.generate._staging import check_output, staged_caps, write_json, write_missing_mods, write_tsv

    start = time.perf_counter()
    if not 0.0 <= atrophy_percent <= 100.0:
        raise InputError(f"atrophy_percent must lie in [0, 100]; got {atrophy_percent}.")
    masks_given = _mask_files(mask_path) if mask_path is not None else None
    output = check_output(output)
    sources = input_images(caps_directory, participants_tsv=participants_tsv, use_uncropped_image=use_uncropped_image,
                           baseline_only=True, preprocessing=preprocessing, tracer=tracer,
                           suvr_reference_region=suvr_reference_region)
    if n_subjects < 1 or n_subjects > len(sources):
        raise InputError(f"n_subjects must lie between 1 and the {len(sources)} participants of {caps_directory} "
                         f"(each gives one AD and one CN image); got {n_subjects}.")
    rows, paths, masks = [], [], {}
    with staged_caps(output) as staging:
        for i in range(2 * n_subjects):
            source = sources[i // 2]
            diagnosis, hemisphere = ("AD", "left") if i % 2 == 0 else ("CN", "right")
            image = nib.load(source.path)
            data = np.asarray(image.dataobj, dtype=np.float32)
            key = (data.shape, image.affine.tobytes(), hemisphere)
            if key not in masks:
                masks[key] = (mask_on_grid(masks_given[i % 2], data.shape, image.affine).astype(np.float32)
                              if masks_given else hemisphere_atrophy_mask(data.shape, image.affine, hemisphere))
            atrophied = data * (1.0 - np.float32(atrophy_percent / 100.0) * masks[key])
            participant = f"sub-TRIV{i}"
            relative = Path("subjects") / participant / source.session_id / source.path.parent.name / \
                renamed(source.path, participant, source.session_id)
            write_nifti(staging / relative, atrophied, image.affine)
            paths.append(output / relative)
            rows.append({"participant_id": participant, "session_id": source.session_id, "diagnosis": diagnosis,
                         "age": source.age, "sex": source.sex})
        write_tsv(staging / "data.tsv", rows, DATA_COLUMNS)
        write_missing_mods(staging, rows)
        write_json(staging / "generate.json", {
            "generator": "trivial", "clinicadl_version": __version__, "seed": int(seed),
            "n_subjects": int(n_subjects), "atrophy_percent": float(atrophy_percent),
            "mask": ([str(path) for path in masks_given] if masks_given else
                     "MNI152 grey-matter probability x hemisphere (AD: left, CN: right)"),
            "use_uncropped_image": bool(use_uncropped_image), "preprocessing": preprocessing,
        })
    return FromCapsResult(output, output / "data.tsv", output / "generate.json", tuple(paths), int(seed),
                          time.perf_counter() - start)
