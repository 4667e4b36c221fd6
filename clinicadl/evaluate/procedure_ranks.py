"""Three or more procedures: Friedman's test over replicates, average ranks with Nemenyi's critical difference,
pairwise Wilcoxon signed-rank tests, and Holm's adjustment of every pairwise p-value.

References
----------
Demsar J. (2006). Statistical comparisons of classifiers over multiple data sets. JMLR 7, 1-30.
Holm S. (1979). A simple sequentially rejective multiple test procedure. Scand. J. Statist. 6(2), 65-70.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from itertools import combinations
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from clinicadl.evaluate.results import ResultRow, results_frame
from clinicadl.stats.metrics import higher_is_better
from clinicadl.stats.rank_tests import (
    FriedmanResult,
    PairwiseTestResult,
    friedman_test,
    holm,
    nemenyi_critical_difference,
    pairwise_wilcoxon_holm,
)

if TYPE_CHECKING:
    from clinicadl.evaluate.compare_procedures import CompareOptions

__all__ = ["RankResult", "adjust_pairwise", "rank_procedures"]


@dataclass(frozen=True)
class RankResult:
    """Friedman's test, the average ranks, Nemenyi's critical difference and the pairwise Wilcoxon tests."""

    friedman: FriedmanResult
    critical_difference: float
    wilcoxon: PairwiseTestResult

    @property
    def ranks(self) -> np.ndarray:
        return self.friedman.average_ranks


def rank_procedures(metric: str, grids: Sequence[np.ndarray], names: Sequence[str], table: pd.DataFrame,
                    options: CompareOptions, alpha: float) -> tuple[list[ResultRow], RankResult]:
    """One row per procedure: its average rank over the replicates (1 = best), with Friedman's test."""
    scores = np.column_stack([np.nanmean(g, axis=1) for g in grids])
    better = higher_is_better(metric)
    friedman = friedman_test(scores, higher_is_better=better)
    cd = nemenyi_critical_difference(len(names), scores.shape[0], alpha=alpha)
    first = table.iloc[0]
    rows = [
        ResultRow(metric=metric, estimate=float(rank), method="average rank (1 = best)",
                  confidence=options.confidence_level, n_resamples=0, n_subjects=int(first["n_subjects"]),
                  n_images=int(first["n_images"]), seed=options.seed,
                  extra={"procedure": name, "mean_score": float(scores[:, j].mean()),
                         "friedman_statistic": friedman.statistic, "friedman_pvalue": friedman.pvalue,
                         "friedman_method": friedman.method, "critical_difference": cd,
                         "n_blocks": friedman.n_blocks, "higher_is_better": better})
        for j, (name, rank) in enumerate(zip(names, friedman.average_ranks))
    ]
    return rows, RankResult(friedman, cd, pairwise_wilcoxon_holm(scores))


def _wilcoxon_rows(tests: pd.DataFrame, ranks: dict[str, RankResult], names: Sequence[str]) -> list[ResultRow]:
    rows = []
    for metric, result in ranks.items():
        w = result.wilcoxon
        for i, j in combinations(range(len(names)), 2):
            template = ResultRow.from_mapping(tests[(tests["metric"] == metric)].iloc[0].to_dict())
            rows.append(template.with_values(
                procedure_a=names[i], procedure_b=names[j], test="Wilcoxon signed-rank (Holm)", estimate=np.nan,
                ci_low=np.nan, ci_high=np.nan, se=np.nan, method=w.method, n_resamples=0,
                statistic=w.statistic[i, j], pvalue=w.pvalue[i, j], adjusted_pvalue=w.adjusted_pvalue[i, j],
                significant=np.nan, meaningful=np.nan, p_left=np.nan, p_rope=np.nan, p_right=np.nan,
                conclusion="", verdict=np.nan))
    return rows


def adjust_pairwise(tests: pd.DataFrame, ranks: dict[str, RankResult], names: Sequence[str]) -> pd.DataFrame:
    """Holm-adjust the pairwise p-values of each (metric, test); add the pairwise Wilcoxon-Holm rows."""
    tests = tests.copy()
    for _, index in tests[tests["pvalue"].notna()].groupby(["metric", "test"]).groups.items():
        tests.loc[index, "adjusted_pvalue"] = holm(tests.loc[index, "pvalue"].to_numpy(float))
    extra = _wilcoxon_rows(tests, ranks, names)
    if extra:
        tests = pd.concat([tests, results_frame(extra)], ignore_index=True)
    adjusted = tests["adjusted_pvalue"].notna()
    alpha = 1 - float(tests["confidence"].iloc[0])
    tests.loc[adjusted, "significant"] = tests.loc[adjusted, "adjusted_pvalue"] < alpha
    return tests
