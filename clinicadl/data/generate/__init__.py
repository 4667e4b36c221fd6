"""Synthetic data sets written as CAPS: ``generate cohort`` (realistic longitudinal AD / CN T1 images from the MNI
template, with a known achievable AUC), ``shepplogan`` (2D / 3D phantoms with subtypes), and ``random`` /
``trivial`` (made from an existing t1-linear CAPS). See docs/generate.md."""

from clinicadl.data.generate.cohort import (
    CohortResult,
    DiseaseModel,
    effect_size_for_auc,
    generate_cohort,
    promised_auc,
)
from clinicadl.data.generate.random_caps import FromCapsResult, generate_random
from clinicadl.data.generate.regions import cohort_regions, regional_means
from clinicadl.data.generate.shepplogan import ShepploganResult, generate_shepplogan, shepplogan_phantom
from clinicadl.data.generate.trivial_caps import generate_trivial

__all__ = [
    "CohortResult",
    "DiseaseModel",
    "FromCapsResult",
    "ShepploganResult",
    "cohort_regions",
    "effect_size_for_auc",
    "generate_cohort",
    "generate_random",
    "generate_shepplogan",
    "generate_trivial",
    "promised_auc",
    "regional_means",
    "shepplogan_phantom",
]
