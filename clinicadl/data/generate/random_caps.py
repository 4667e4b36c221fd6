"""``generate random``: images that no classifier can separate (ClinicaDL 1.x ``generate random``).

The first image of the input CAPS (first participant, baseline session, or the first row of ``participants_tsv``) is
copied ``2 * n_subjects`` times with independent Gaussian noise N(mean, sigma^2) added to every voxel (in the image's
own intensity units), and the copies are labelled AD and CN alternately: the labels carry no information, so the
expected AUC is 0.5. Participants are ``sub-RAND<i>``; each copy keeps the source's session and file name pattern.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from clinicadl.errors import InputError

DATA_COLUMNS = ("participant_id", "session_id", "diagnosis", "age", "sex")


@dataclass(frozen=True)
class FromCapsResult:
    """What :func:`generate_random` or :func:`~clinicadl.data.generate.trivial_caps.generate_trivial` made.

    Attributes
    ----------
    caps_directory, data_tsv, json_path : the new CAPS, its ``data.tsv`` and ``generate.json``.
    image_paths : every image written, in data.tsv order.
    seed : the root seed.
    seconds : wall-clock time.
    """

    caps_directory: Path
    data_tsv: Path
    json_path: Path
    image_paths: tuple[Path, ...]
    seed: int
    seconds: float


def generate_random(caps_directory: str | Path, output: str | Path, *, n_subjects: int = 300, mean: float = 0.0,
                    sigma: float = 0.5, participants_tsv: str | Path | None = None, use_uncropped_image: bool = False,
                    seed: int = 0, preprocessing: str = "t1-linear", tracer: str | None = None,
                    suvr_reference_region: str | None = None) -> FromCapsResult:
    """Write ``n_subjects`` AD and ``n_subjects`` CN noisy copies of one input image (module docstring)."""
    import nibabel as nib

    from clinicadl import __version__
    from clinicadl.data.generate._input_caps import input_images, renamed
    from clinicadl.data.generate._nifti import write_nifti
    from clinicadl.data.generate._staging import check_output, staged_caps, write_json, write_missing_mods, write_tsv

    start = time.perf_counter()
    if n_subjects < 1:
        raise InputError(f"n_subjects (per diagnosis) must be at least 1; got {n_subjects}.")
    if not sigma >= 0:
        raise InputError(f"sigma must be >= 0; got {sigma}.")
    output = check_output(output)
    source = input_images(caps_directory, participants_tsv=participants_tsv, use_uncropped_image=use_uncropped_image,
                          baseline_only=True, preprocessing=preprocessing, tracer=tracer,
                          suvr_reference_region=suvr_reference_region)[0]
    image = nib.load(source.path)
    data = np.asarray(image.dataobj, dtype=np.float32)
    rows, paths = [], []
    with staged_caps(output) as staging:
        for i in range(2 * n_subjects):
            participant = f"sub-RAND{i}"
            rng = np.random.default_rng(np.random.SeedSequence(int(seed), spawn_key=(i,)))
            noisy = data + rng.normal(mean, sigma, size=data.shape).astype(np.float32)
            relative = Path("subjects") / participant / source.session_id / source.path.parent.name / \
                renamed(source.path, participant, source.session_id)
            write_nifti(staging / relative, noisy, image.affine)
            paths.append(output / relative)
            rows.append({"participant_id": participant, "session_id": source.session_id,
                         "diagnosis": "AD" if i % 2 == 0 else "CN", "age": source.age, "sex": source.sex})
        write_tsv(staging / "data.tsv", rows, DATA_COLUMNS)
        write_missing_mods(staging, rows)
        write_json(staging / "generate.json", {
            "generator": "random", "clinicadl_version": __version__, "seed": int(seed),
            "n_subjects": int(n_subjects), "mean": float(mean), "sigma": float(sigma),
            "source": f"{source.participant_id} {source.session_id}", "use_uncropped_image": bool(use_uncropped_image),
            "preprocessing": preprocessing,
        })
    return FromCapsResult(output, output / "data.tsv", output / "generate.json", tuple(paths), int(seed),
                          time.perf_counter() - start)
