"""``clinicadl generate``: synthetic data sets written as CAPS (cohort, shepplogan, random, trivial, lesions,
tumour, hypometabolic, artifacts)."""

from __future__ import annotations

from collections.abc import Callable

import click

from clinicadl.cli import options

participants_tsv = click.option("--participants_tsv", "-tsv", type=click.Path(exists=True, dir_okay=False),
                                default=None, help="TSV (participant_id, session_id) of the input images to use; "
                                                   "default: <CAPS>/data.tsv if present, else every session.")
preprocessing = click.option("--preprocessing", type=click.Choice(["t1-linear", "pet-linear"]), default="t1-linear",
                             show_default=True, help="Preprocessing of the input images in CAPS_DIRECTORY.")
subjects_per_label = click.option("--n_subjects", type=click.IntRange(min=1), default=300, show_default=True,
                                  help="Number of subjects per label (AD and CN), as upstream; generate trivial: at "
                                       "most the number of input participants; generate hypometabolic: number of "
                                       "images, the first baseline ones.")
participants = click.option("--n_subjects", type=click.IntRange(min=2), default=20, show_default=True,
                            help="Number of participants (one session each).")
caps_directory = click.argument("caps_directory", type=click.Path(exists=True, file_okay=False))


def _repeated(count: int) -> Callable:
    """Callback of an option given ``count`` times as upstream (``-csd 1 -csd 0 -csd 0``): a tuple of ``count``
    numbers."""

    def check(ctx, param, value):
        if len(value) != count:
            example = " ".join(f"{param.opts[-1]} {chr(65 + i)}" for i in range(count))
            raise click.BadParameter(f"give it {count} times, as upstream ({example}); got {len(value)} value(s).",
                                     ctx=ctx, param=param)
        return tuple(value)

    return check


def _range_option(name: str, default: tuple[float, float], help_text: str):
    return click.option(f"--{name}", type=float, multiple=True, default=default, show_default=True,
                        callback=_repeated(2), help=f"{help_text} Give it twice, LOW then HIGH, as upstream.")
generated_caps_directory = click.argument("generated_caps_directory", type=click.Path())


@click.group()
def generate():
    """Make synthetic data sets, written as CAPS.

    \b
    cohort         realistic longitudinal AD/CN T1 images with a chosen achievable AUC
    shepplogan     2D/3D Shepp-Logan phantoms with subtypes (no input; fast tests)
    random         noisy copies of one image, labels carry no information (AUC 0.5)
    trivial        images with one hemisphere atrophied per label (AUC 1)
    lesions        white-matter lesions (multiple-sclerosis-like) with their masks
    tumour         a mass with oedema with their masks
    hypometabolic  PET images with the hypometabolism of a dementia (ad, bvftd, lvppa, nfvppa, pca, svppa)
    artifacts      images with motion, contrast and noise artefacts
    """


@generate.command("cohort")
@click.argument("output_caps", type=click.Path())
@click.option("--n_participants", type=click.IntRange(min=2), default=100, show_default=True,
              help="Number of participants, half AD and half CN.")
@click.option("--sessions", type=(click.IntRange(min=1), click.IntRange(min=1)), default=(1, 3), show_default=True,
              metavar="MIN MAX", help="Sessions per participant, drawn uniformly between MIN and MAX.")
@click.option("--interval_months", type=click.IntRange(min=1), default=12, show_default=True,
              help="Months between sessions (ses-M000, ses-M012, ...).")
@click.option("--effect_size", type=click.FloatRange(min=0), default=1.5, show_default=True,
              help="AD - CN difference of the latent severity, in SD; the achievable baseline AUC is "
                   "Phi(effect_size / sqrt(2)) (1.5 -> 0.856).")
@options.resolution
@options.seed
@options.workers
def cohort(output_caps, n_participants, sessions, interval_months, effect_size, resolution, seed, n_proc):
    """Realistic longitudinal AD/CN cohort from the MNI152 template, as a t1-linear CAPS.

    Each participant has a latent disease severity ~ N(effect_size * [AD], 1) that grows over time; it shrinks
    hippocampal grey matter and enlarges the lateral ventricles. Age, sex, a smooth anatomical deformation, an
    intensity bias field and Rician noise vary independently of diagnosis. Writes
    subjects/<sub>/<ses>/t1_linear/*_T1w.nii.gz, data.tsv (participant_id session_id diagnosis age sex + the true
    effect parameters), missing_mods/ and generate.json, and prints the promised AUC (that of the latent severity,
    which no classifier of baseline images can beat). OUTPUT_CAPS must not exist (or be empty).

    \b
    Example:
      clinicadl generate cohort synth_caps --n_participants 200 --sessions 1 3 --effect_size 1.5 \\
          --resolution 2 --seed 0 --n_proc 2
    """
    from clinicadl.data.generate.cohort import generate_cohort

    result = generate_cohort(output_caps, n_participants=n_participants, sessions=sessions,
                             interval_months=interval_months, effect_size=effect_size, resolution=resolution,
                             seed=seed, n_proc=n_proc, progress=True)
    click.echo(f"Written: {result.n_images} images of {result.n_participants} participants in {result.caps_directory} "
               f"({result.seconds:.1f} s)")
    click.echo(f"Promised AUC (latent severity, baseline): {result.promised_auc:.3f}")


@generate.command("shepplogan")
@generated_caps_directory
@subjects_per_label
@click.option("--image_size", type=click.IntRange(min=8), default=128, show_default=True,
              help="Size in pixels of the square (cubic in 3D) image.")
@click.option("--dimension", type=click.Choice(["2", "3"]), default="2", show_default=True,
              help="2D phantoms (stored as N x N x 1 volumes) or 3D phantoms (N x N x N).")
@click.option("--cn_subtypes_distribution", "-csd", type=float, multiple=True, default=(1.0, 0.0, 0.0),
              show_default=True, callback=_repeated(3),
              help="Probabilities of subtypes 0, 1, 2 among CN: give it three times (-csd 1 -csd 0 -csd 0).")
@click.option("--ad_subtypes_distribution", "-asd", type=float, multiple=True, default=(0.05, 0.85, 0.10),
              show_default=True, callback=_repeated(3),
              help="Probabilities of subtypes 0, 1, 2 among AD: give it three times, as upstream.")
@click.option("--smoothing/--no-smoothing", default=False, show_default=True,
              help="Blur each phantom with a Gaussian of random width.")
@options.extract_json
@options.seed
@options.workers
def shepplogan(generated_caps_directory, n_subjects, image_size, dimension, cn_subtypes_distribution,
               ad_subtypes_distribution, smoothing, extract_json, seed, n_proc):
    """Shepp-Logan phantoms with three subtypes spread over AD and CN (no input needed).

    Subtype 0: Top and Bottom regions large; 1: Bottom atrophied; 2: Top atrophied. Writes
    subjects/<sub>/ses-M000/shepplogan/<sub>_ses-M000_space-SheppLogan_phantom.nii.gz (custom preprocessing,
    suffix _space-SheppLogan_phantom.nii.gz), data.tsv (participant_id session_id diagnosis subtype age sex),
    missing_mods/ and generate.json. Run prepare-data to make the tensors, or give -ej/--extract_json.

    \b
    Example:
      clinicadl generate shepplogan sl_caps --n_subjects 8 --image_size 64 --seed 0
    """
    from clinicadl.data.generate.shepplogan import generate_shepplogan

    result = generate_shepplogan(generated_caps_directory, n_subjects=n_subjects, image_size=image_size,
                                 dimension=int(dimension), cn_subtypes_distribution=cn_subtypes_distribution,
                                 ad_subtypes_distribution=ad_subtypes_distribution, smoothing=smoothing, seed=seed,
                                 n_proc=n_proc, progress=True)
    click.echo(f"Written: {len(result.image_paths)} phantoms {result.shape} in {result.caps_directory}")
    if extract_json:
        from clinicadl.data.generate.shepplogan import extract_phantoms

        written = extract_phantoms(result.caps_directory, extract_json, dimension=int(dimension), n_proc=n_proc)
        click.echo(f"Written: {written}")


@generate.command("random")
@caps_directory
@generated_caps_directory
@subjects_per_label
@click.option("--mean", type=float, default=0.0, show_default=True, help="Mean of the Gaussian noise added.")
@click.option("--sigma", type=click.FloatRange(min=0), default=0.5, show_default=True,
              help="Standard deviation of the Gaussian noise added (image intensity units).")
@participants_tsv
@options.use_uncropped_image
@preprocessing
@options.tracer
@options.suvr_reference_region
@options.workers
@options.seed
def random(caps_directory, generated_caps_directory, n_subjects, mean, sigma, participants_tsv, use_uncropped_image,
           preprocessing, tracer, suvr_reference_region, n_proc, seed):
    """Noisy copies of ONE input image with random labels: nothing to learn (expected AUC 0.5).

    CAPS_DIRECTORY is a t1-linear CAPS (e.g. from `generate cohort`) or a pet-linear one (--preprocessing
    pet-linear --tracer ... -suvr ...); its first baseline image is copied 2 x n_subjects times with Gaussian
    noise, labelled AD and CN alternately (sub-RAND<i>).

    \b
    Example:
      clinicadl generate random synth_caps random_caps --preprocessing t1-linear --n_subjects 50 --sigma 5
    """
    from clinicadl.data.generate.random_caps import generate_random

    result = generate_random(caps_directory, generated_caps_directory, n_subjects=n_subjects, mean=mean,
                             sigma=sigma, participants_tsv=participants_tsv, use_uncropped_image=use_uncropped_image,
                             seed=seed, preprocessing=preprocessing, tracer=tracer,
                             suvr_reference_region=suvr_reference_region)
    click.echo(f"Written: {len(result.image_paths)} images in {result.caps_directory}")


@generate.command("trivial")
@caps_directory
@generated_caps_directory
@subjects_per_label
@click.option("--atrophy_percent", type=click.FloatRange(0, 100), default=60.0, show_default=True,
              help="Percentage of grey-matter intensity removed in the atrophied hemisphere.")
@click.option("--mask_path", type=click.Path(exists=True), default=None,
              help="Upstream's folder of atrophy masks, mask-1.nii (AD) and mask-2.nii (CN); default: hemisphere "
                   "masks made from the MNI152 template (nothing is downloaded).")
@participants_tsv
@options.use_uncropped_image
@preprocessing
@options.tracer
@options.suvr_reference_region
@options.workers
@options.seed
def trivial(caps_directory, generated_caps_directory, n_subjects, atrophy_percent, mask_path, participants_tsv,
            use_uncropped_image, preprocessing, tracer, suvr_reference_region, n_proc, seed):
    """Images with one hemisphere atrophied per label: perfectly separable (expected AUC 1).

    CAPS_DIRECTORY is a t1-linear (or pet-linear) CAPS in MNI space (e.g. from `generate cohort`). Each input
    baseline image gives an AD image (left hemisphere grey matter reduced by atrophy_percent %) and a CN image
    (right hemisphere), named sub-TRIV<i>. The masks come from the MNI152 template (nothing is downloaded), or from
    --mask_path as upstream.

    \b
    Example:
      clinicadl generate trivial synth_caps trivial_caps --preprocessing t1-linear --n_subjects 50
    """
    from clinicadl.data.generate.trivial_caps import generate_trivial

    result = generate_trivial(caps_directory, generated_caps_directory, n_subjects=n_subjects,
                              atrophy_percent=atrophy_percent, participants_tsv=participants_tsv,
                              use_uncropped_image=use_uncropped_image, seed=seed, preprocessing=preprocessing,
                              tracer=tracer, suvr_reference_region=suvr_reference_region, mask_path=mask_path)
    click.echo(f"Written: {len(result.image_paths)} images in {result.caps_directory}")


@generate.command("lesions")
@click.argument("output_caps", type=click.Path())
@participants
@click.option("--lesion_load", type=(click.FloatRange(min=0), click.FloatRange(min=0)), default=(2.0, 20.0),
              show_default=True, metavar="MIN MAX", help="Target lesion volume per participant in mL, uniform.")
@click.option("--contrast", type=click.FloatRange(-1, 1), default=0.4, show_default=True,
              help="Relative intensity drop at a lesion's core (negative: hyperintense lesions).")
@click.option("--load_threshold", type=click.FloatRange(min=0), default=None,
              help="Load (mL) above which diagnosis is high_load (else low_load). [default: middle of --lesion_load]")
@click.option("--lesion_radius", type=(click.FloatRange(min=0.5), click.FloatRange(min=0.5)), default=(2.0, 6.0),
              show_default=True, metavar="MIN MAX", help="Semi-axes of the ellipsoidal lesions in mm, uniform.")
@options.resolution
@options.seed
@options.workers
def lesions(output_caps, n_subjects, lesion_load, contrast, load_threshold, lesion_radius, resolution, seed, n_proc):
    """White-matter lesions (multiple-sclerosis-like) on the MNI template, with their masks.

    Lesions are ellipsoids placed in deep white matter, mostly periventricular, added until each participant's
    target load is reached. Writes subjects/<sub>/ses-M000/t1_linear/*_T1w.nii.gz and the mask *_dseg.nii.gz
    (1 = lesion) next to it, data.tsv (participant_id session_id diagnosis age sex lesion_load n_lesions
    target_load; diagnosis high_load / low_load by --load_threshold), missing_mods/ and generate.json.
    Then: prepare-data image t1-linear, tsvtools split, train segmentation (or train classification on diagnosis,
    train regression on lesion_load).

    \b
    Example:
      clinicadl generate lesions lesions_caps --n_subjects 40 --lesion_load 2 20 --contrast 0.4 --resolution 4
    """
    from clinicadl.data.generate.lesions import LesionModel, generate_lesions

    low, high = lesion_radius
    result = generate_lesions(output_caps, n_subjects=n_subjects, lesion_load=lesion_load, contrast=contrast,
                              load_threshold=load_threshold, resolution=resolution, seed=seed, n_proc=n_proc,
                              progress=True, model=LesionModel(radius_mm=(min(low, high), max(low, high))))
    click.echo(f"Written: {result.n_subjects} images with lesion masks in {result.caps_directory} "
               f"({result.seconds:.1f} s)")


@generate.command("tumour")
@click.argument("output_caps", type=click.Path())
@participants
@click.option("--radius", type=(click.FloatRange(min=1), click.FloatRange(min=1)), default=(8.0, 20.0),
              show_default=True, metavar="MIN MAX", help="Radius of the tumour core in mm, uniform (the load).")
@click.option("--oedema_ratio", type=click.FloatRange(1, 4), default=1.8, show_default=True,
              help="Outer radius of the oedema over the core's (1: no oedema).")
@click.option("--contrast", type=click.FloatRange(-1, 1), default=0.5, show_default=True,
              help="Relative intensity drop in the core (half of it in the oedema; negative: hyperintense).")
@click.option("--volume_threshold", type=click.FloatRange(min=0), default=None,
              help="Core + oedema volume (mL) above which diagnosis is large (else small).")
@options.resolution
@options.seed
@options.workers
def tumour(output_caps, n_subjects, radius, oedema_ratio, contrast, volume_threshold, resolution, seed, n_proc):
    """A brain mass with surrounding oedema on the MNI template, with its masks (1 = core, 2 = oedema).

    The mass pushes the tissue around it; the oedema spreads in white matter. Writes
    subjects/<sub>/ses-M000/t1_linear/*_T1w.nii.gz and *_dseg.nii.gz, data.tsv (participant_id session_id
    diagnosis age sex tumour_volume oedema_volume hemisphere radius_mm), missing_mods/ and generate.json. Train
    with 'train segmentation ... --n_labels 2'.

    \b
    Example:
      clinicadl generate tumour tumour_caps --n_subjects 40 --radius 8 20 --resolution 4
    """
    from clinicadl.data.generate.tumour import generate_tumour

    result = generate_tumour(output_caps, n_subjects=n_subjects, radius_mm=radius, oedema_ratio=oedema_ratio,
                             contrast=contrast, volume_threshold=volume_threshold, resolution=resolution, seed=seed,
                             n_proc=n_proc, progress=True)
    click.echo(f"Written: {result.n_subjects} images with tumour masks in {result.caps_directory} "
               f"({result.seconds:.1f} s)")


@generate.command("hypometabolic", no_args_is_help=True)
@caps_directory
@generated_caps_directory
@participants_tsv
@subjects_per_label
@options.workers
@click.option("--pathology", "-p", type=click.Choice(["ad", "bvftd", "lvppa", "nfvppa", "pca", "svppa"]),
              default="ad", show_default=True, help="Dementia whose hypometabolism pattern is applied.")
@click.option("--anomaly_degree", "-anod", type=click.FloatRange(0, 100), default=30.0, show_default=True,
              help="Hypometabolism in the pathology's regions, in percent of the intensity.")
@click.option("--sigma", type=click.FloatRange(min=0), default=5, show_default=True,
              help="Standard deviation (voxels) of the Gaussian that smooths the edge of the mask.")
@options.use_uncropped_image
@options.tracer
@options.suvr_reference_region
@click.option("--mask_path", type=click.Path(exists=True, dir_okay=False), default=None,
              help="A local pathology mask (NIfTI in the images' space, non-zero: the pathology), e.g. upstream's "
                   "mask_hypo_<pathology>.nii; default: built from the MNI152 template (nothing is downloaded).")
@options.seed
def hypometabolic(caps_directory, generated_caps_directory, participants_tsv, n_subjects, n_proc, pathology,
                  anomaly_degree, sigma, use_uncropped_image, tracer, suvr_reference_region, mask_path, seed):
    """PET images with the hypometabolism of a dementia: the first N baseline pet-linear images of CAPS_DIRECTORY.

    Each image is multiplied by 1 - anomaly_degree/100 in the pathology's regions (the grey matter of the areas
    hypometabolic in FDG-PET for that dementia, from the MNI152 template; or --mask_path), the edge smoothed by
    --sigma, as upstream. Images are 18FFDG cerebellumPons2 SUVR images unless --tracer / -suvr say otherwise.
    Participants keep their ids; data.tsv has participant_id session_id pathology percentage diagnosis age sex.

    \b
    Example:
      clinicadl generate hypometabolic pet_caps hypo_caps --pathology ad --anomaly_degree 30 --n_subjects 50
    """
    from clinicadl.data.generate.hypometabolic import generate_hypometabolic

    result = generate_hypometabolic(caps_directory, generated_caps_directory, n_subjects=n_subjects,
                                    pathology=pathology, anomaly_degree=anomaly_degree, sigma=sigma,
                                    participants_tsv=participants_tsv, use_uncropped_image=use_uncropped_image,
                                    tracer=tracer or "18FFDG",
                                    suvr_reference_region=suvr_reference_region or "cerebellumPons2",
                                    mask_path=mask_path, n_proc=n_proc, seed=seed, progress=True)
    click.echo(f"Written: {len(result.image_paths)} images with {anomaly_degree:g} % of {pathology} hypometabolism "
               f"in {result.caps_directory}")


@generate.command("artifacts", no_args_is_help=True)
@caps_directory
@generated_caps_directory
@options.workers
@preprocessing
@participants_tsv
@options.use_uncropped_image
@options.tracer
@options.suvr_reference_region
@click.option("--contrast/--no-contrast", default=False, show_default=True,
              help="Contrast artefact: intensities raised to the power exp(g), g uniform in --gamma.")
@_range_option("gamma", (-0.2, -0.05), "Range of the log-gamma of the contrast artefact (between -1 and 1).")
@click.option("--motion/--no-motion", default=False, show_default=True,
              help="Motion artefact: rigid movements during the acquisition (k-space of the moved images).")
@_range_option("translation", (2.0, 4.0), "Range of the translations of the motion artefact, in mm.")
@_range_option("rotation", (2.0, 4.0), "Range of the rotations of the motion artefact, in degrees.")
@click.option("--num_transforms", type=click.IntRange(min=1), default=2, show_default=True,
              help="Number of movements of the motion artefact.")
@click.option("--noise/--no-noise", default=False, show_default=True, help="Gaussian noise artefact.")
@_range_option("noise_std", (5.0, 15.0), "Range of the standard deviation of the noise (image intensity units).")
@options.seed
def artifacts(caps_directory, generated_caps_directory, n_proc, preprocessing, participants_tsv, use_uncropped_image,
              tracer, suvr_reference_region, contrast, gamma, motion, translation, rotation, num_transforms, noise,
              noise_std, seed):
    """Images of CAPS_DIRECTORY with motion, contrast and/or noise artefacts (every session), as upstream.

    Artefacts are applied in the order motion, contrast, noise, each drawn from a stream seeded by --seed and the
    image, so the output does not depend on -np. Files keep their participant and session and end in
    _art-<mot-con-noi>.nii.gz; data.tsv's diagnosis names the artefacts (e.g. motion+noise).

    \b
    Example:
      clinicadl generate artifacts caps art_caps --preprocessing t1-linear --motion --noise \\
          --noise_std 5 --noise_std 15 --seed 0
    """
    from clinicadl.data.generate.artifacts import ArtefactOptions, generate_artifacts

    settings = ArtefactOptions(motion=motion, contrast=contrast, noise=noise, translation=translation,
                               rotation=rotation, num_transforms=num_transforms, gamma=gamma, noise_std=noise_std)
    result = generate_artifacts(caps_directory, generated_caps_directory, options=settings,
                                participants_tsv=participants_tsv, use_uncropped_image=use_uncropped_image,
                                preprocessing=preprocessing, tracer=tracer,
                                suvr_reference_region=suvr_reference_region, n_proc=n_proc, seed=seed, progress=True)
    click.echo(f"Written: {len(result.image_paths)} images with {', '.join(settings.names())} artefacts in "
               f"{result.caps_directory}")
