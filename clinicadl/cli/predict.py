"""``clinicadl predict``: predict a data group with the trained models of a MAPS, with confidence intervals."""

from __future__ import annotations

import click

from clinicadl.cli import options
from clinicadl.cli.launcher_options import add_launcher_options, slurm_values


@click.command("predict", context_settings={"max_content_width": 110})
@click.argument("input_maps_directory", metavar="INPUT_MAPS_DIRECTORY")
@click.argument("data_group")
@click.option("--participants_tsv", "-pt", type=click.Path(dir_okay=False),
              help="TSV (participant_id, session_id, and the label column) defining a new DATA_GROUP.")
@click.option("--caps_directory", type=click.Path(file_okay=False),
              help="CAPS of the images; default: the group's, else the one used in training.")
@click.option("--use_labels/--no_labels", default=True, show_default=True,
              help="The TSV holds the labels: write metrics and confidence intervals.")
@options.selection_metrics
@options.split
@options.overwrite
@click.option("--skip_leak_check", is_flag=True,
              help="Allow participants used in training (the result is then not a test).")
@options.batch_size
@options.loader_processes
@options.gpu
@options.amp
@options.n_resamples
@options.seed
@options.n_jobs
@click.option("--label", default=None,
              help="Column of the participants TSV holding the labels; default: the one of training (maps.json).")
@click.option("--diagnoses", "-d", multiple=True,
              help="Keep only the sessions of --participants_tsv with these diagnoses (repeat the option).")
@click.option("--multi_cohort", is_flag=True, default=False,
              help="Not provided (multi-cohort prediction): predict each cohort as its own data group.")
@click.option("--save_masks", is_flag=True, default=False,
              help="Segmentation: also write each predicted label map as NIfTI (split-<i>/best-<m>/<group>/masks/).")
@click.option("--save_tensor", is_flag=True, default=False,
              help="Also write each element's input and output tensors (<group>/tensors/*_input.pt, *_output.pt).")
@click.option("--save_nifti", is_flag=True, default=False,
              help="Reconstruction in image mode: also write input and output as NIfTI (<group>/nifti_images/).")
@click.option("--save_latent_tensor", is_flag=True, default=False,
              help="Autoencoders: also write each element's latent code (<group>/latent_tensors/*_latent.pt).")
@add_launcher_options(detach=False)
def predict(input_maps_directory, data_group, participants_tsv, caps_directory, use_labels, selection_metrics,
            splits, overwrite, skip_leak_check, batch_size, n_proc, gpu, amp, n_resamples, seed, n_jobs, label,
            diagnoses, multi_cohort, save_masks, save_tensor, save_nifti, save_latent_tensor, launcher, **slurm):
    """Predict DATA_GROUP with every trained model of a MAPS (each split, selection metric and replicate).

    Writes upstream's files in split-<i>/best-<m>/<DATA_GROUP>/ (<group>_<mode>_level_prediction.tsv,
    _metrics.tsv in 1.6.1's layout, image-level soft voting in patch/slice/roi modes) and, with labels, each model's
    participant-level confidence intervals (<group>_image_level_metrics_ci.tsv). A new group may not share
    a participant with the training data (groups/train+validation.tsv) unless --skip_leak_check.

    \b
    Example:
      clinicadl predict maps/ test --participants_tsv labels/split/test_baseline.tsv --caps_directory caps/

    With --launcher or --n_jobs, each replicate is predicted in its own job (local processes, or SLURM jobs
    whose logs go to MAPS/.jobs/predict-logs/).
    """
    from clinicadl.evaluate.model import EvaluationOptions
    from clinicadl.evaluate.prediction_intervals import intervals_step
    from clinicadl.predict.predict import predict as run_predict

    arguments = dict(
        caps_directory=caps_directory, participants_tsv=participants_tsv,
        selection_metrics=selection_metrics or None, splits=splits or None, overwrite=overwrite,
        skip_leak_check=skip_leak_check, use_labels=use_labels, batch_size=batch_size, n_proc=n_proc, gpu=gpu,
        amp=amp, save_masks=save_masks, label=label, diagnoses=tuple(diagnoses), multi_cohort=multi_cohort,
        save_tensor=save_tensor, save_nifti=save_nifti, save_latent_tensor=save_latent_tensor,
        after_predicting=intervals_step(EvaluationOptions(n_resamples=n_resamples, seed=seed), use_labels=use_labels),
    )
    if launcher is None and n_jobs is None and not slurm_values(slurm):
        results = run_predict(input_maps_directory, data_group, **arguments)
    else:
        from clinicadl.training.replicate_predictions import predict_replicates

        results = predict_replicates(input_maps_directory, data_group, launcher=launcher or "local",
                                     n_jobs=n_jobs, slurm=slurm_values(slurm), **arguments)
    for result in results:
        for path in result.written:
            click.echo(f"Written: {path}")
