"""``generate cohort``: a longitudinal AD / CN cohort of realistic T1 images, whose separability is set by one number.

Each image is the MNI152 2009 template (:mod:`._template`) deformed and altered for one participant and session:

1. Disease. Each participant has a latent severity ``s``: at baseline ``s ~ N(effect_size * [AD], 1)``, then
   ``s(t) = s0 + rate * t`` (t in years) with ``rate ~ N(progression_ad or progression_cn, progression_sd^2)``.
   Severity acts through two monotone links:

   - hippocampal grey-matter loss ``h = 1 - exp(-exp(hippocampus_intercept + hippocampus_slope * s))`` (a
     complementary log-log link, so 0 < h < 1), applied in Gaussian spheres (sd ``hippocampus_sigma_mm``) around
     the four published hippocampal coordinates: a fraction ``h`` of the grey matter becomes CSF, i.e. the T1
     intensity drops by ``h * w(x) * p_GM(x) * (I_GM - I_CSF)``;
   - lateral ventricle enlargement by a volume factor
     ``V = exp(ventricle_slope * s + ventricle_age_slope * (age - 70))``: a radial deformation around each lateral
     ventricle's centre, scaled by V^(1/3) at the centre and fading with an anisotropic Gaussian fitted to the
     ventricle.

2. Ageing and sex. Age at baseline ~ U(age_min, age_max), independent of diagnosis; grey matter loses
   ``gm_age_loss_per_year * (age - age_min)`` of its contrast everywhere (global atrophy), and ventricles grow with
   age (above). Sex is M or F with probability 1/2; head size scales by ``1 +/- head_scale_sex + N(0, head_scale_sd)``.

3. Nuisance, per participant: a smooth random displacement (DCT basis, RMS ``deformation_rms_mm``) that stays the
   same across sessions; per session: a multiplicative smooth bias field ``exp(b)`` (RMS of b: ``bias_rms``) and
   Rician noise of standard deviation ``noise_sd * I_GM``.

Promised AUC. Age, sex and nuisance are independent of diagnosis, and the image depends on diagnosis only through
``s``; so no classifier of baseline images beats the AUC of ``s`` itself, which is that of two unit-variance normals
``effect_size`` apart: ``Phi(effect_size / sqrt(2))`` (:func:`promised_auc`). The nuisance is kept small compared
with the disease signal, so that a logistic regression on a few regional means comes close to it (docs/generate.md).

Reproducibility. Every random draw comes from ``numpy.random.SeedSequence(seed, spawn_key=...)`` keyed by
(design | participant index, stream), so results do not depend on ``n_proc``, and a participant's anatomy does not
depend on the resolution or on the number of sessions asked for. Files are written with fixed bytes
(:mod:`._nifti`), so the same options give the same bytes.
"""

from __future__ import annotations

import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from statistics import NormalDist

import numpy as np

from clinicadl.errors import InputError

IMAGE_SUFFIX = "space-MNI152NLin2009cSym_desc-Crop_res-{r}x{r}x{r}_T1w.nii.gz"
DATA_COLUMNS = ("participant_id", "session_id", "diagnosis", "age", "sex", "severity", "hippocampal_atrophy",
                "ventricle_factor", "gm_age_loss", "head_scale")

_DESIGN, _PARTICIPANT = 0, 1  # first element of the spawn keys


@dataclass(frozen=True)
class DiseaseModel:
    """Constants of the cohort model (module docstring); recorded in ``generate.json``.

    Severity is in units of its between-participant standard deviation; rates are per year.
    """

    progression_ad: float = 0.4
    progression_cn: float = 0.05
    progression_sd: float = 0.1
    hippocampus_intercept: float = math.log(0.2)
    hippocampus_slope: float = 0.8
    hippocampus_sigma_mm: float = 8.0
    ventricle_slope: float = 0.25
    ventricle_age_slope: float = 0.02
    gm_age_loss_per_year: float = 0.004
    age_min: float = 60.0
    age_max: float = 85.0
    head_scale_sex: float = 0.01
    head_scale_sd: float = 0.01
    deformation_rms_mm: float = 2.0
    deformation_order: int = 4
    bias_rms: float = 0.03
    bias_order: int = 3
    noise_sd: float = 0.03


DEFAULT_MODEL = DiseaseModel()


def promised_auc(effect_size: float, *, years: float = 0.0, model: DiseaseModel = DEFAULT_MODEL) -> float:
    """AUC of the latent severity between AD and CN, ``years`` after baseline: the best any classifier can reach.

    At baseline the severities are N(effect_size, 1) (AD) and N(0, 1) (CN), so the AUC is
    ``Phi(effect_size / sqrt(2))``. After t years the mean difference is ``effect_size + (progression_ad -
    progression_cn) * t`` and each variance ``1 + (progression_sd * t)^2``.

    Examples
    --------
    >>> round(promised_auc(0.0), 3), round(promised_auc(1.0), 3), round(promised_auc(2.0), 3)
    (0.5, 0.76, 0.921)
    """
    difference = effect_size + (model.progression_ad - model.progression_cn) * years
    variance = 2.0 * (1.0 + (model.progression_sd * years) ** 2)
    return NormalDist().cdf(difference / math.sqrt(variance))


def effect_size_for_auc(auc: float) -> float:
    """Inverse of :func:`promised_auc` at baseline: ``sqrt(2) * Phi^-1(auc)``.

    Examples
    --------
    >>> round(effect_size_for_auc(0.85), 3)
    1.466
    """
    if not 0.0 < auc < 1.0:
        raise InputError(f"An AUC must lie strictly between 0 and 1 (got {auc}).")
    return math.sqrt(2.0) * NormalDist().inv_cdf(auc)


@dataclass(frozen=True)
class CohortResult:
    """What :func:`generate_cohort` made.

    Attributes
    ----------
    caps_directory : the CAPS folder.
    data_tsv : ``<caps>/data.tsv`` (participant_id session_id diagnosis age sex + true effect parameters).
    json_path : ``<caps>/generate.json`` (every option, the seed, the model, the package version).
    image_paths : every image written, in data.tsv order.
    n_participants, n_images : counts.
    promised_auc : AUC of the latent severity at baseline (:func:`promised_auc`).
    seed : the root seed.
    seconds : wall-clock time of the generation.
    """

    caps_directory: Path
    data_tsv: Path
    json_path: Path
    image_paths: tuple[Path, ...]
    n_participants: int
    n_images: int
    promised_auc: float
    seed: int
    seconds: float


@dataclass(frozen=True)
class _Task:
    """Everything one worker needs to make one participant's images."""

    index: int
    participant_id: str
    diagnosis: str
    seed: int
    effect_size: float
    sessions: tuple[int, int]
    interval_months: int
    resolution: int
    staging: str
    model: DiseaseModel = field(default_factory=DiseaseModel)


def _stream(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=key))


def _validate(n_participants, sessions, interval_months, effect_size, resolution, n_proc) -> tuple[int, int]:
    if n_participants < 2:
        raise InputError(f"n_participants must be at least 2 (one AD, one CN); got {n_participants}.")
    low, high = (int(sessions), int(sessions)) if np.ndim(sessions) == 0 else (int(sessions[0]), int(sessions[1]))
    if not 1 <= low <= high:
        raise InputError(f"sessions must be a range 1 <= MIN <= MAX of sessions per participant; got {sessions}.")
    if interval_months < 1:
        raise InputError(f"interval_months must be a positive number of months; got {interval_months}.")
    if not math.isfinite(effect_size) or effect_size < 0:
        raise InputError(f"effect_size must be a finite number >= 0 (AD minus CN severity); got {effect_size}.")
    if int(resolution) != resolution or not 1 <= resolution <= 8:
        raise InputError(f"resolution must be an integer number of mm between 1 and 8; got {resolution}.")
    if n_proc < 1:
        raise InputError(f"n_proc must be at least 1; got {n_proc}.")
    return low, high


def generate_cohort(output: str | Path, *, n_participants: int = 100, sessions: int | tuple[int, int] = (1, 3),
                    interval_months: int = 12, effect_size: float = 1.5, resolution: int = 2, seed: int = 0,
                    n_proc: int = 1, progress: bool = False, model: DiseaseModel = DEFAULT_MODEL) -> CohortResult:
    """Write a synthetic longitudinal AD / CN cohort as a t1-linear CAPS.

    Parameters
    ----------
    output : the CAPS folder to create (must not exist, or be empty).
    n_participants : number of participants, half AD (the extra one, if odd, CN).
    sessions : number of sessions per participant, drawn uniformly in [MIN, MAX] (an int for a fixed number).
    interval_months : time between sessions (``ses-M000``, ``ses-M012``, ...).
    effect_size : mean severity difference AD - CN, in standard deviations; promised AUC ``Phi(d / sqrt(2))``.
    resolution : voxel size in mm (1 gives Clinica's 169 x 208 x 179 cropped grid; 2 gives 85 x 104 x 90).
    seed : root seed; the same seed and options give the same bytes.
    n_proc : worker processes (does not change the output).
    progress : show a progress bar.
    model : constants of the cohort model.

    Returns
    -------
    CohortResult

    Notes
    -----
    Participants are ``sub-S0001``, ``sub-S0002``, ... (neutral: the label is not in the name); diagnoses are
    shuffled among them. Images: ``subjects/<sub>/<ses>/t1_linear/<sub>_<ses>_space-MNI152NLin2009cSym_desc-Crop_
    res-<r>x<r>x<r>_T1w.nii.gz``, float32, MNI world coordinates in the affine.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> caps = pathlib.Path(tempfile.mkdtemp()) / "caps"
    >>> result = generate_cohort(caps, n_participants=2, sessions=1, resolution=8, seed=1)
    >>> result.n_images, round(result.promised_auc, 3)
    (2, 0.856)
    """
    from clinicadl import __version__
    from clinicadl.data.generate._parallel import run_tasks
    from clinicadl.data.generate._staging import check_output, staged_caps, write_json, write_missing_mods, write_tsv
    from clinicadl.data.generate._template import template_folder

    start = time.perf_counter()
    sessions = _validate(n_participants, sessions, interval_months, effect_size, resolution, n_proc)
    output = check_output(output)
    template_folder()  # fail early if nilearn or its template is missing
    resolution = int(resolution)

    n_ad = n_participants // 2
    diagnoses = np.array(["AD"] * n_ad + ["CN"] * (n_participants - n_ad))
    diagnoses = diagnoses[_stream(seed, _DESIGN).permutation(n_participants)]
    width = max(4, len(str(n_participants)))
    with staged_caps(output) as staging:
        tasks = [_Task(i, f"sub-S{i + 1:0{width}d}", str(diagnoses[i]), int(seed), float(effect_size), sessions,
                       int(interval_months), resolution, str(staging), model) for i in range(n_participants)]
        per_participant = run_tasks(_make_participant, tasks, n_proc=n_proc, progress=progress,
                                    desc="generate cohort")
        rows = [row for participant_rows in per_participant for row in participant_rows]
        write_tsv(staging / "data.tsv", rows, DATA_COLUMNS)
        write_missing_mods(staging, rows)
        auc = promised_auc(effect_size, model=model)
        write_json(staging / "generate.json", {
            "generator": "cohort",
            "clinicadl_version": __version__,
            "seed": int(seed),
            "n_participants": int(n_participants),
            "sessions": list(sessions),
            "interval_months": int(interval_months),
            "effect_size": float(effect_size),
            "resolution": resolution,
            "promised_auc": round(auc, 6),
            "n_ad": int(n_ad),
            "n_cn": int(n_participants - n_ad),
            "n_images": len(rows),
            "image_suffix": IMAGE_SUFFIX.format(r=resolution),
            "template": "MNI ICBM152 2009a nonlinear symmetric (nilearn), cropped to Clinica's t1-linear box",
            "model": asdict(model),
        })
    paths = tuple(output / "subjects" / row["participant_id"] / row["session_id"] / "t1_linear" /
                  f"{row['participant_id']}_{row['session_id']}_{IMAGE_SUFFIX.format(r=resolution)}" for row in rows)
    return CohortResult(output, output / "data.tsv", output / "generate.json", paths, n_participants, len(rows), auc,
                        int(seed), time.perf_counter() - start)


def _make_participant(task: _Task) -> list[dict]:
    """Draw one participant, synthesise and write its sessions; return its data.tsv rows."""
    from clinicadl.data.generate._fields import smooth_field
    from clinicadl.data.generate._nifti import write_nifti
    from clinicadl.data.generate._template import grid_axes_mm, load_template, output_grid

    model = task.model
    ad = task.diagnosis == "AD"
    rng = _stream(task.seed, _PARTICIPANT, task.index, 0)
    sex = "M" if rng.random() < 0.5 else "F"
    age0 = round(float(rng.uniform(model.age_min, model.age_max)), 1)
    severity0 = float(rng.normal(task.effect_size if ad else 0.0, 1.0))
    rate = float(rng.normal(model.progression_ad if ad else model.progression_cn, model.progression_sd))
    head_scale = 1.0 + (model.head_scale_sex if sex == "M" else -model.head_scale_sex) + \
        float(rng.normal(0.0, model.head_scale_sd))
    low, high = task.sessions
    n_sessions = low + min(int(rng.random() * (high - low + 1)), high - low)

    template = load_template(task.resolution)
    _, affine = output_grid(task.resolution)
    axes = grid_axes_mm(task.resolution)
    anatomy_rng = _stream(task.seed, _PARTICIPANT, task.index, 1)
    component_rms = model.deformation_rms_mm / math.sqrt(3.0)  # RMS of the vector length
    displacement = [smooth_field(axes, order=model.deformation_order, rms=component_rms,
                                 rng=anatomy_rng).astype(np.float32) for _ in range(3)]
    centre = template.brain_centre
    # template-space position sampled by each output voxel, before the disease deformation
    subject_mm = [np.float32(centre[c]) + (axes[c].astype(np.float32)[_axis(c)] - np.float32(centre[c])) /
                  np.float32(head_scale) - displacement[c] for c in range(3)]
    del displacement

    rows = []
    for k in range(n_sessions):
        years = k * task.interval_months / 12.0
        session_id = f"ses-M{k * task.interval_months:03d}"
        age = round(age0 + years, 1)
        severity = severity0 + rate * years
        atrophy = 1.0 - math.exp(-math.exp(model.hippocampus_intercept + model.hippocampus_slope * severity))
        ventricle = math.exp(model.ventricle_slope * severity + model.ventricle_age_slope * (age - 70.0))
        gm_age_loss = min(max(model.gm_age_loss_per_year * (age - model.age_min), 0.0), 1.0)
        session_rng = _stream(task.seed, _PARTICIPANT, task.index, 2 + k)
        image = _synthesise(template, subject_mm, atrophy=atrophy, ventricle=ventricle, gm_age_loss=gm_age_loss,
                            model=model, axes=axes, rng=session_rng)
        name = f"{task.participant_id}_{session_id}_{IMAGE_SUFFIX.format(r=task.resolution)}"
        write_nifti(Path(task.staging) / "subjects" / task.participant_id / session_id / "t1_linear" / name, image,
                    affine)
        rows.append({"participant_id": task.participant_id, "session_id": session_id, "diagnosis": task.diagnosis,
                     "age": f"{age:.1f}", "sex": sex, "severity": severity, "hippocampal_atrophy": atrophy,
                     "ventricle_factor": ventricle, "gm_age_loss": gm_age_loss, "head_scale": head_scale})
    return rows


def _axis(c: int) -> tuple:
    """Index that broadcasts a 1D axis along dimension ``c`` of a 3D grid."""
    return tuple(slice(None) if d == c else None for d in range(3))


def _synthesise(template, subject_mm, *, atrophy, ventricle, gm_age_loss, model, axes, rng) -> np.ndarray:
    """One session's image (float32) from the participant's template-space positions ``subject_mm``."""
    from scipy import ndimage

    from clinicadl.data.generate._fields import smooth_field

    # ventricle enlargement: sample closer to each ventricle centre, by 1 - V^(-1/3) at the centre
    pull = 1.0 - ventricle ** (-1.0 / 3.0)
    source = [s.copy() for s in subject_mm]
    for centre, covariance in zip(template.ventricle_centres, template.ventricle_covariances):
        precision = np.linalg.inv(5.0 * covariance).astype(np.float32)  # 5: a uniform ellipsoid's a^2 / variance
        offset = [subject_mm[c] - np.float32(centre[c]) for c in range(3)]
        quadratic = sum(precision[a, b] * offset[a] * offset[b] for a in range(3) for b in range(3))
        weight = np.exp(np.float32(-0.5) * quadratic) * np.float32(pull)
        for c in range(3):
            source[c] -= weight * offset[c]
    # hippocampal weight, in the participant's template space
    hippocampus = np.zeros(subject_mm[0].shape, dtype=np.float32)
    from clinicadl.data.generate._template import HIPPOCAMPUS_MM

    for point in HIPPOCAMPUS_MM:
        distance2 = sum((subject_mm[c] - np.float32(point[c])) ** 2 for c in range(3))
        np.maximum(hippocampus, np.exp(distance2 * np.float32(-0.5 / model.hippocampus_sigma_mm**2)), out=hippocampus)
    coordinates = np.stack([np.broadcast_to(source[c] - np.float32(template.origin[c]), hippocampus.shape)
                            for c in range(3)])
    t1 = ndimage.map_coordinates(template.t1, coordinates, order=1, mode="constant", cval=0.0, prefilter=False)
    gm = ndimage.map_coordinates(template.gm, coordinates, order=1, mode="constant", cval=0.0, prefilter=False)
    del coordinates
    lost = 1.0 - (1.0 - np.float32(atrophy) * hippocampus) * np.float32(1.0 - gm_age_loss)
    image = np.maximum(t1 - lost * gm * np.float32(template.intensity_gm - template.intensity_csf), 0.0)
    bias = smooth_field(axes, order=model.bias_order, rms=model.bias_rms, rng=rng)
    image *= np.exp(bias).astype(np.float32)
    sigma = np.float32(model.noise_sd * template.intensity_gm)
    real = image + sigma * rng.standard_normal(image.shape, dtype=np.float32)
    imaginary = sigma * rng.standard_normal(image.shape, dtype=np.float32)
    return np.sqrt(real * real + imaginary * imaginary)
