"""The design of a procedure's replicates: which estimator of Bouthillier et al. (2021) it implements, what it
allows to conclude (notes), and its record in the JSON sidecars.

References
----------
Bouthillier X. et al. (2021). Accounting for variance in machine learning benchmarks. MLSys 3.
"""

from __future__ import annotations

from clinicadl.evaluate.procedure_inputs import Procedure

__all__ = ["FEW_REPLICATES_NOTE", "FIXHOPT_NOTE", "HPO_NOTE", "design_notes", "design_record", "estimator_name"]

FIXHOPT_NOTE = (
    "Only the seeds varied, not the data split: this estimate of the procedure's variance is biased low "
    "(Bouthillier et al. 2021 call it FixHOptEst(k, Init)); train with --vary split (the default) to include "
    "the variance due to the data split."
)
FEW_REPLICATES_NOTE = (
    "With {r} replicates the variance between replicates has {df} degrees of freedom: the interval of the expected "
    "performance is wide, and conservative when the replicates differ little (docs/validation.md); about 10 "
    "replicates bring it near its ideal width."
)
HPO_NOTE = ("The hyper-parameters were fixed (source 'hpo' not varied): the results are conditional on them and do "
            "not include the variance of their choice.")


def estimator_name(procedure: Procedure) -> str:
    """Which estimator of Bouthillier et al. (2021) the replicates of a MAPS implement.

    ``IdealEst`` re-draws every source, hyper-parameter choice included; ``FixHOptEst(k, All)`` re-draws every
    source but the hyper-parameters (fixed once); ``FixHOptEst(k, Init)`` re-draws the seeds only (one data split);
    a single replicate is one run.
    """
    varied = set(procedure.varied_sources)
    if procedure.n_replicates < 2 or not varied:
        return "single run (no replicates)"
    if "hpo" in varied and "split" in varied:
        return "IdealEst (every source re-drawn, hyper-parameters re-optimised per replicate)"
    if "split" in varied:
        return "FixHOptEst(k, All) (hyper-parameters fixed; every other source re-drawn)"
    return "FixHOptEst(k, Init) (one data split and fixed hyper-parameters; seeds re-drawn)"


def design_notes(procedure: Procedure) -> list[str]:
    """What the design of the replicates allows to conclude."""
    notes = list(procedure.notes)
    if procedure.n_replicates == 1:
        notes.append("One replicate only: the intervals include the test-set sampling and the differences between "
                     "splits, not the variability of training; train with --replicates to assess the procedure.")
    elif not procedure.split_varied:
        notes.append(FIXHOPT_NOTE)
    if procedure.replicated and "hpo" not in procedure.varied_sources:
        notes.append(HPO_NOTE)
    return notes


def design_record(procedure: Procedure) -> dict:
    """The design of the replicates, for the JSON sidecar."""
    return {"maps": str(procedure.path), "replicates": list(procedure.replicates), "splits": list(procedure.splits),
            "varied_sources": list(procedure.varied_sources), "seeds": procedure.seeds,
            "selection_metric": procedure.selection_metric, "data_group": procedure.data_group,
            "estimator": estimator_name(procedure)}
