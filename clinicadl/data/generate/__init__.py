"""Synthetic data sets written as CAPS: ``generate cohort`` (realistic longitudinal AD / CN T1 images from the MNI
template, with a known achievable AUC), ``shepplogan`` (2D / 3D phantoms with subtypes), and ``random`` /
``trivial`` (made from an existing t1-linear CAPS), ``lesions`` and ``tumour`` (images with segmentation masks, see
docs/segmentation.md). See docs/generate.md."""

from clinicadl.data.generate._pathology import PathologyResult
from clinicadl.data.generate.cohort import (
    CohortResult,
    DiseaseModel,
    effect_size_for_auc,
    generate_cohort,
    promised_auc,
)
from clinicadl.data.generate.lesions import LesionModel, generate_lesions
from clinicadl.data.generate.random_caps import FromCapsResult, generate_random
from clinicadl.data.generate.regions import cohort_regions, regional_means
from clinicadl.data.generate.shepplogan import ShepploganResult, generate_shepplogan, shepplogan_phantom
from clinicadl.data.generate.trivial_caps import generate_trivial
from clinicadl.data.generate.tumour import TumourModel, generate_tumour

__all__ = [
    "CohortResult",
    "DiseaseModel",
    "FromCapsResult",
    "LesionModel",
    "PathologyResult",
    "ShepploganResult",
    "TumourModel",
    "cohort_regions",
    "effect_size_for_auc",
    "generate_cohort",
    "generate_lesions",
    "generate_random",
    "generate_shepplogan",
    "generate_trivial",
    "generate_tumour",
    "promised_auc",
    "regional_means",
    "shepplogan_phantom",
]
