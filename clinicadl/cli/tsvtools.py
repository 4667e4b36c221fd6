"""``clinicadl tsvtools``: participant TSVs (labels, splits, k-folds, demographics, metadata, progression) in
ClinicaDL 1.x's layout, with upstream's commands and options."""

from __future__ import annotations

import click

from clinicadl.cli import options

_max_tries = click.option("--max_tries", type=click.IntRange(min=1), default=1000, show_default=True,
                          help="Most draws tried to pass the age/sex thresholds before giving up with an error.")
_test_tsv = click.option("--test_tsv", "-tt", type=click.Path(dir_okay=False), default=None,
                         help="TSV of participants to leave out (e.g. the test set) before splitting.")


@click.group()
def tsvtools():
    """Prepare participant TSVs: labels, train/test splits, k-folds and demographics.

    \b
    get-labels          Sessions of the diagnoses of interest, from a Clinica merged TSV or a data.tsv
    split               One participant-level, stratified train/<subset> split (folder split/)
    kfold               K participant-level, stratified folds (folder <k>_fold/)
    analysis            Demographics per diagnosis of a TSV or of each TSV of a split folder
    prepare-experiment  A test split, then a validation split or k-fold of its train side
    get-metadata        Copy columns of a merged TSV into a participant TSV
    get-progression     Stability of each session's diagnosis over a time horizon (s, p, r, us, uk)
    adapt               Convert a TSV folder of ClinicaDL <= 1.1.1 to the current layout
    getlabels           Deprecated spelling of get-labels (one argument), kept for old scripts
    """


_label_options = options.stack(
    click.option("--diagnoses", "-d", multiple=True, default=("AD", "CN"), show_default=True,
                 help="Diagnosis to keep (repeat the option)."),
    click.option("--modality", "-mod", default="t1w", show_default=True,
                 help="Modality a session must have (a column of the missing_mods TSVs)."),
    click.option("--variables_of_interest", "-voi", multiple=True,
                 help="Further column of the merged TSV to copy into labels.tsv (repeat the option)."),
    click.option("--caps_directory", "-c", type=click.Path(exists=True, file_okay=False), default=None,
                 help="A CAPS: keep only the sessions it holds (subjects/<participant>/<session>/)."),
    click.option("--restriction_tsv", type=click.Path(exists=True, dir_okay=False), default=None,
                 help="TSV of the sessions that may be kept (e.g. those passing quality control)."),
    click.option("--keep_smc", is_flag=True, default=False,
                 help="Keep participants whose diagnosis_bl/diagnosis_sc is SMC (removed by default)."),
    click.option("--merged_tsv", type=click.Path(exists=True, dir_okay=False), default=None,
                 help="Output of `clinica iotools merge-tsv` when the first argument is a BIDS folder "
                      "(default: OUTPUT_DIRECTORY/merged.tsv)."),
    click.option("--missing_mods", type=click.Path(exists=True), default=None,
                 help="Output folder of `clinica iotools check-missing-modalities` (default: "
                      "OUTPUT_DIRECTORY/missing_mods when it exists, else no modality filter)."),
    click.option("--remove_unique_session", is_flag=True, default=False,
                 help="Remove participants with a single session."),
)


def _run_get_labels(bids_directory, output_directory, **kwargs):
    from clinicadl.data.labels import get_labels as run

    result = run(bids_directory, output_directory, **kwargs)
    for note in result.notes:
        click.echo(f"Note: {note}")
    click.echo(f"{len(result.labels)} sessions of {result.labels['participant_id'].nunique()} participants.")
    click.echo(f"Written: {result.tsv_path}")
    click.echo(f"Written: {result.json_path}")


@tsvtools.command("get-labels", no_args_is_help=True)
@click.argument("bids_directory", metavar="BIDS_DIRECTORY_OR_TSV", type=click.Path(exists=True))
@click.argument("output_directory", type=click.Path(file_okay=False))
@_label_options
def get_labels(bids_directory, output_directory, **kwargs):
    """Write OUTPUT_DIRECTORY/labels.tsv: the sessions whose diagnosis is one of --diagnoses.

    BIDS_DIRECTORY_OR_TSV is a Clinica merged TSV (`clinica iotools merge-tsv`), a generator's data.tsv,
    or a BIDS folder (then give --merged_tsv: clinicadl does not run Clinica). labels.tsv has the columns
    participant_id session_id diagnosis age sex, then the variables of interest; labels.json records
    the options and counts.

    \b
    Example:
      clinicadl tsvtools get-labels merged.tsv labels/ --diagnoses AD --diagnoses CN
    """
    _run_get_labels(bids_directory, output_directory, **kwargs)


@tsvtools.command("getlabels", no_args_is_help=True)
@click.argument("bids_directory", metavar="BIDS_DIRECTORY_OR_TSV", type=click.Path(exists=True))
@_label_options
def getlabels(bids_directory, **kwargs):
    """Deprecated spelling of get-labels, with one argument: labels.tsv is written next to the merged TSV.

    The output folder is the folder of --merged_tsv if given, else that of BIDS_DIRECTORY_OR_TSV when it is a
    TSV. Prefer `tsvtools get-labels`, which names its output folder.

    \b
    Example:
      clinicadl tsvtools getlabels study/merged.tsv -d AD -d CN     (writes study/labels.tsv)
    """
    from pathlib import Path

    from clinicadl.errors import InputError

    source = Path(kwargs["merged_tsv"] or bids_directory)
    if source.is_dir():
        raise InputError(f"{source} is a folder: `tsvtools getlabels` writes next to the merged TSV; give "
                         "--merged_tsv, or use `clinicadl tsvtools get-labels BIDS_DIRECTORY OUTPUT_DIRECTORY`.")
    click.echo("Note: `tsvtools getlabels` is deprecated (as upstream); use `tsvtools get-labels`.", err=True)
    _run_get_labels(bids_directory, source.parent, **kwargs)


def _report(result, subset_name):
    draw = result.draw
    seed_text = f"seed {draw.seed}"
    if draw.n_tries > 1:
        seed_text += f", accepted draw {draw.n_tries} (draw seed {draw.draw_seed})"
    click.echo(f"{len(draw.partitions)} partition(s), {seed_text}.")
    for index, partition in enumerate(draw.partitions):
        click.echo(
            f"  {index}: train {partition.train['participant_id'].nunique()} participants, {subset_name} "
            f"{partition.test['participant_id'].nunique()} participants; p_age {partition.balance.p_age:.3g}, "
            f"p_sex {partition.balance.p_sex:.3g}"
        )
    for folder in result.removed:
        click.echo(f"Removed: {folder} (made from the replaced files; make it again from the new ones)")
    click.echo(f"Written: {result.folder}")


@tsvtools.command("split", no_args_is_help=True)
@click.argument("data_tsv", type=click.Path(exists=True, dir_okay=False))
@options.subset_name
@click.option("--n_test", type=float, default=100.0, show_default=True,
              help="Participants put in the <subset_name> set: a count if >= 1, a fraction of the participants if < 1.")
@options.seed
@click.option("--p_sex_threshold", "-ps", type=click.FloatRange(0, 1), default=0.80, show_default=True,
              help="Smallest p-value of the chi-square test on sex between the two sets.")
@click.option("--p_age_threshold", "-pa", type=click.FloatRange(0, 1), default=0.80, show_default=True,
              help="Smallest p-value of the t-test on age between the two sets.")
@click.option("--ignore_demographics", is_flag=True, default=False,
              help="Draw once without checking the age and sex balance.")
@click.option("--categorical_split_variable", default=None,
              help="Further column to stratify on, combined with diagnosis.")
@click.option("--multi-diagnoses", "multi_diagnoses", is_flag=True, default=False,
              help="Balance every column, not only age and sex: of --max_tries draws, keep the one whose smallest "
                   "two-sample p-value over the columns (KS test, chi-square for categories) is largest.")
@options.valid_longitudinal
@_test_tsv
@_max_tries
@options.overwrite
def split(data_tsv, subset_name, n_test, seed, p_sex_threshold, p_age_threshold, ignore_demographics,
          categorical_split_variable, multi_diagnoses, not_only_keep_baseline, test_tsv, max_tries, overwrite):
    """Split DATA_TSV's participants into train and <subset_name> sets, stratified on diagnosis.

    All the sessions of a participant go to the same set. Unless --ignore_demographics, draws are
    repeated with a deterministic sequence of seeds until the age t-test and sex chi-square p-values
    between the sets reach the thresholds. Writes split/ next to DATA_TSV: train.tsv, train_baseline.tsv,
    <subset_name>_baseline.tsv (+ <subset_name>.tsv) and split.json (options, seed, draws, p-values).
    The same DATA_TSV, options and --seed give the same bytes.

    \b
    Example:
      clinicadl tsvtools split labels/labels.tsv --n_test 0.2 --subset_name test --seed 1
      clinicadl tsvtools split labels/split/train.tsv --n_test 0.2 --seed 1   (validation set)
    """
    from clinicadl.data.tsvtools import split_tsv

    result = split_tsv(data_tsv, n_test=n_test, subset_name=subset_name, seed=seed, p_age_threshold=p_age_threshold,
                       p_sex_threshold=p_sex_threshold, ignore_demographics=ignore_demographics,
                       categorical_split_variable=categorical_split_variable,
                       not_only_keep_baseline=not_only_keep_baseline, test_tsv=test_tsv, max_tries=max_tries,
                       overwrite=overwrite, multi_diagnoses=multi_diagnoses)
    _report(result, subset_name)


@tsvtools.command("kfold", no_args_is_help=True)
@click.argument("data_tsv", type=click.Path(exists=True, dir_okay=False))
@click.option("--n_splits", type=click.IntRange(min=2), default=5, show_default=True,
              help="Number of folds.")
@options.subset_name
@click.option("--stratification", default="none", show_default=True,
              help="Column to stratify the folds on (e.g. diagnosis); 'none' for no stratification.")
@click.option("--merged-tsv", "merged_tsv", type=click.Path(exists=True, dir_okay=False), default=None,
              help="TSV of every session (e.g. clinica merge-tsv output) whose columns DATA_TSV lacks (diagnosis, "
                   "age, sex...) are added before splitting.")
@options.seed
@options.valid_longitudinal
@click.option("--p_sex_threshold", "-ps", type=click.FloatRange(0, 1), default=None,
              help="If given, re-draw until every fold's sex chi-square p-value reaches it.")
@click.option("--p_age_threshold", "-pa", type=click.FloatRange(0, 1), default=None,
              help="If given, re-draw until every fold's age t-test p-value reaches it.")
@_test_tsv
@_max_tries
@options.overwrite
def kfold(data_tsv, n_splits, subset_name, stratification, merged_tsv, seed, not_only_keep_baseline, p_sex_threshold,
          p_age_threshold, test_tsv, max_tries, overwrite):
    """Split DATA_TSV's participants into --n_splits folds, stratified on --stratification if given.

    The folds partition the participants; all the sessions of a participant stay together. Writes
    <n_splits>_fold/ next to DATA_TSV: split-<i>/train.tsv, train_baseline.tsv,
    <subset_name>_baseline.tsv (+ <subset_name>.tsv) and kfold.json (options, seed, p-values per fold).
    The same DATA_TSV, options and --seed give the same bytes.

    \b
    Example:
      clinicadl tsvtools kfold labels/split/train.tsv --n_splits 5 --stratification diagnosis --seed 1
    """
    from clinicadl.data.tsvtools import kfold_tsv

    column = None if stratification.lower() == "none" else stratification
    result = kfold_tsv(data_tsv, n_splits=n_splits, subset_name=subset_name, stratification=column, seed=seed,
                       valid_longitudinal=not_only_keep_baseline, p_age_threshold=p_age_threshold,
                       p_sex_threshold=p_sex_threshold, test_tsv=test_tsv, max_tries=max_tries, overwrite=overwrite,
                       merged_tsv=merged_tsv)
    _report(result, subset_name)


@tsvtools.command("analysis", no_args_is_help=True)
@click.argument("merged_tsv", type=click.Path(exists=True, dir_okay=False))
@click.argument("data_tsv", type=click.Path(exists=True))
@click.argument("output_tsv", type=click.Path(dir_okay=False))
@click.option("--diagnoses", "-d", multiple=True,
              help="Diagnosis to report (repeat the option); default: those present.")
def analysis(merged_tsv, data_tsv, output_tsv, diagnoses):
    """Write OUTPUT_TSV: demographics per diagnosis of DATA_TSV (a TSV or a split/kfold folder).

    MERGED_TSV gives age, sex, MMSE and CDR per session (a Clinica merged TSV, labels.tsv or data.tsv).
    Columns follow upstream (group n_subjects mean_age std_age ... n_scans); for a folder, one block of
    rows per TSV under it, named in a first column `file`.

    \b
    Example:
      clinicadl tsvtools analysis merged.tsv labels/split analysis.tsv
    """
    from clinicadl.data.tsvtools import analysis_tsv

    result = analysis_tsv(merged_tsv, data_tsv, output_tsv, diagnoses=diagnoses or None)
    click.echo(f"Written: {result.written[0]}")


@tsvtools.command("prepare-experiment", no_args_is_help=True)
@click.argument("data_tsv", type=click.Path(exists=True, dir_okay=False))
@click.option("--n_test", type=float, default=100.0, show_default=True,
              help="Test participants: a count if >= 1, a fraction of the participants if < 1.")
@click.option("--validation_type", "-vt", type=click.Choice(["split", "kfold"]), default="kfold", show_default=True,
              help="One validation split, or a k-fold of the train side.")
@click.option("--n_validation", type=float, default=5.0, show_default=True,
              help="split: validation participants (a count, or a fraction < 1); kfold: number of folds.")
@options.seed
@options.overwrite
def prepare_experiment(data_tsv, n_test, validation_type, n_validation, seed, overwrite):
    """Split DATA_TSV into train and test, then the train side into train and validation (split or k-fold).

    Both splits are participant-level and stratified on diagnosis; age and sex are balanced (t-test and
    chi-square p >= 0.80), the k-fold is not stratified, as upstream. Writes split/ next to DATA_TSV
    (train, test) and, in it, split/ or <n>_fold/ (train, validation).

    \b
    Example:
      clinicadl tsvtools prepare-experiment labels/labels.tsv --n_test 0.2 -vt kfold --n_validation 5
    """
    from clinicadl.data.experiment import prepare_experiment as run

    test, validation = run(data_tsv, n_test=n_test, validation_type=validation_type, n_validation=n_validation,
                           seed=seed, overwrite=overwrite)
    _report(test, "test")
    _report(validation, "validation")


@tsvtools.command("get-metadata", no_args_is_help=True)
@click.argument("data_tsv", type=click.Path(exists=True, dir_okay=False))
@click.argument("merged_tsv", type=click.Path(exists=True, dir_okay=False))
@click.option("--variables_of_interest", "-voi", multiple=True,
              help="Column of MERGED_TSV to add (repeat the option); default: every column DATA_TSV lacks.")
def get_metadata(data_tsv, merged_tsv, variables_of_interest):
    """Add columns of MERGED_TSV to DATA_TSV, session by session; DATA_TSV is rewritten in place.

    MERGED_TSV is the output of `clinica iotools merge-tsv`, a labels.tsv or a data.tsv: it must hold every
    session of DATA_TSV.

    \b
    Example:
      clinicadl tsvtools get-metadata labels/split/train.tsv merged.tsv -voi MMSE -voi age
    """
    from clinicadl.data.metadata import get_metadata as run

    click.echo(f"Written: {run(data_tsv, merged_tsv, variables_of_interest)}")


@tsvtools.command("get-progression", no_args_is_help=True)
@click.argument("data_tsv", type=click.Path(exists=True, dir_okay=False))
@click.option("--time_horizon", type=click.IntRange(min=0), default=36, show_default=True,
              help="Months over which the stability of the diagnosis is judged.")
def get_progression(data_tsv, time_horizon):
    """Add the column progression to DATA_TSV: is each session's diagnosis stable over --time_horizon months?

    s: stable, p: progresses (CN < MCI < AD), r: regresses, us: the participant both progresses and regresses,
    uk: unknown (last session). DATA_TSV needs diagnosis and ses-M<months> session names; it is rewritten in
    place.

    \b
    Example:
      clinicadl tsvtools get-progression labels/labels.tsv --time_horizon 36
    """
    from clinicadl.data.progression import get_progression as run

    click.echo(f"Written: {run(data_tsv, time_horizon=time_horizon)}")


@tsvtools.command("adapt", no_args_is_help=True)
@click.argument("old_tsv_dir", type=click.Path(exists=True, file_okay=False))
@click.argument("new_tsv_dir", type=click.Path(file_okay=False))
@click.option("--labels_list", "-lb", multiple=True,
              help="Label whose TSVs are converted (repeat the option); default: every TSV.")
def adapt(old_tsv_dir, new_tsv_dir, labels_list):
    """Convert a TSV folder written by ClinicaDL 1.1.1 or earlier (one TSV per label) to the current layout.

    OLD_TSV_DIR is the output folder of the old getlabels, split or kfold; NEW_TSV_DIR (new) receives
    labels.tsv, split/ and <k>_fold/ as `tsvtools get-labels | split | kfold` write them now.

    \b
    Example:
      clinicadl tsvtools adapt old_labels/ new_labels/ -lb AD -lb CN
    """
    from clinicadl.data.tsv_adapt import adapt as run

    written = run(old_tsv_dir, new_tsv_dir, labels_list=labels_list)
    click.echo(f"Written: {len(written)} files in {new_tsv_dir}")
