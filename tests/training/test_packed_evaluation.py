"""The packed end-of-epoch evaluation: each replicate's metrics equal those of its own (unpacked) evaluation.

Oracle: :func:`clinicadl.training.loop._evaluate` (one :func:`~clinicadl.runtime.inference.infer` per network and
loader). The packed pass sums the same terms in another order, so metrics agree to float rounding.
"""

from __future__ import annotations

import pytest
import tiny_caps as helpers
import torch

from clinicadl.training import loop
from clinicadl.training.packed_evaluation import evaluate_pack, same_evaluation_data
from clinicadl.training.partitions import partitions
from clinicadl.training.seeds import replicate_seeds


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    return helpers.make_dataset(tmp_path_factory.mktemp("data"))


def _runs(dataset, folder, split_seeds):
    parameters = helpers.resolved_parameters(dataset, kfold=False, epochs=1, selection_metrics=["loss"],
                                             batch_size=3, data_augmentation=["Noise"])
    runs = []
    for r, split_seed in enumerate(split_seeds):
        seeds = replicate_seeds(0, r, ("init", "order", "augmentation", "dropout"))
        partition = partitions(parameters, split_seed=split_seed)[0]
        run, *_, logger, _ = loop.open_run(parameters, folder / f"replicate-{r}", partition, seeds,
                                           torch.device("cpu"))
        logger.close()
        runs.append(run)
    return runs


def test_packed_metrics_equal_each_replicate_evaluated_alone(dataset, tmp_path):
    runs = _runs(dataset, tmp_path, [None, None, None])
    packed = evaluate_pack(runs)
    for run, metrics in zip(runs, packed):
        alone = loop._evaluate(run.network, run.eval_loaders, run.parameters, run.device, run.amp, run.names)
        assert metrics is not None
        for got, expected in zip(metrics, alone):
            assert got.keys() == expected.keys()
            assert got == pytest.approx(expected, rel=1e-5, abs=1e-6, nan_ok=True)
    assert packed[0] != packed[1]  # each network's own metrics, not copies


def test_replicates_with_other_splits_evaluate_themselves(dataset, tmp_path):
    runs = _runs(dataset, tmp_path, [None, None, 7])
    assert same_evaluation_data(runs[0], runs[1])
    assert not same_evaluation_data(runs[0], runs[2])
    packed = evaluate_pack(runs)
    assert packed[0] is not None and packed[1] is not None and packed[2] is None
