"""Reading and writing MAPS (ClinicaDL 1.x layout, 2.0 reader): paths, JSON, TSV.

This layer knows files, not statistics, and never imports torch. The central reader is
:func:`read_model_predictions`, which returns the image-level predictions of one trained model on one
data group as a :class:`ModelPredictions`.
"""

from clinicadl.maps.groups import read_group_data, read_group_tsv
from clinicadl.maps.layout import (
    FINAL_SELECTION,
    MAPS_VERSIONS,
    details_tsv_path,
    group_data_tsv_path,
    group_dir,
    list_data_groups,
    list_selection_metrics,
    list_splits,
    maps_version,
    metrics_tsv_path,
    normalize_selection_metric,
    parse_split_name,
    prediction_tsv_path,
    selection_dir,
    split_dir,
)
from clinicadl.maps.maps_json import (
    label_names,
    prediction_mode,
    read_maps_json,
    read_maps_parameters,
    translate_old_keys,
    write_maps_json,
)
from clinicadl.maps.metrics_tsv import read_metrics_table, read_metrics_tsv, write_metrics_tsv
from clinicadl.maps.predictions import (
    MODES,
    TASKS,
    ModelPredictions,
    find_models,
    read_model_predictions,
    read_prediction_tsv,
)
from clinicadl.maps.results_io import (
    RESULTS_COLUMNS,
    atomic_write_text,
    evaluation_dir,
    model_ci_path,
    read_results_tsv,
    sidecar_path,
    to_jsonable,
    write_json_sidecar,
    write_results_tsv,
)

__all__ = [
    "FINAL_SELECTION",
    "MAPS_VERSIONS",
    "MODES",
    "RESULTS_COLUMNS",
    "TASKS",
    "ModelPredictions",
    "atomic_write_text",
    "details_tsv_path",
    "evaluation_dir",
    "find_models",
    "group_data_tsv_path",
    "group_dir",
    "label_names",
    "list_data_groups",
    "list_selection_metrics",
    "list_splits",
    "maps_version",
    "metrics_tsv_path",
    "model_ci_path",
    "normalize_selection_metric",
    "parse_split_name",
    "prediction_mode",
    "prediction_tsv_path",
    "read_group_data",
    "read_group_tsv",
    "read_maps_json",
    "read_maps_parameters",
    "read_metrics_table",
    "read_metrics_tsv",
    "read_model_predictions",
    "read_prediction_tsv",
    "read_results_tsv",
    "selection_dir",
    "sidecar_path",
    "split_dir",
    "to_jsonable",
    "translate_old_keys",
    "write_json_sidecar",
    "write_maps_json",
    "write_metrics_tsv",
    "write_results_tsv",
]
