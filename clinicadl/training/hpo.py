"""Random search of hyper-parameters, seeded by the ``hpo`` source of variance.

A search space is written in the ``[Random_Search]`` section of a TOML file, one training parameter per line,
each with a sampling distribution (an inline table)::

    [Random_Search]
    learning_rate = {log_uniform = [1e-5, 1e-3]}
    weight_decay = {log_uniform = [1e-6, 1e-3]}
    dropout = {uniform = [0.0, 0.5]}
    batch_size = {choice = [4, 8]}
    architecture = {choice = ["Conv4_FC3", "Conv5_FC3"]}
    epochs = {int_uniform = [10, 30]}

A search draws ``n_trials`` configurations with the generator of the ``hpo`` seed (trial ``t`` is the ``t``-th
draw, so the same seed gives the same configurations), trains each into its own MAPS with the other seeds of the
replicate unchanged, and keeps the configuration with the best validation value of the selection metric (the best
epoch of each split, averaged over splits).

Random search rather than a grid: for the same budget it explores more values of the parameters that matter
(Bergstra & Bengio 2012). Re-running the search in every replicate is what makes the replicates estimate the
performance of the *method* rather than of one configuration: Bouthillier et al. (2021) show that estimates which
fix the hyper-parameters once (their FixHOptEst) stay biased whatever the number of runs.

References
----------
.. [1] Bergstra, J., & Bengio, Y. (2012). Random search for hyper-parameter optimization. JMLR 13, 281-305.
.. [2] Bouthillier, X., et al. (2021). Accounting for variance in machine learning benchmarks. MLSys 3.
"""

from __future__ import annotations

import json
import math
import shutil
import zlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from clinicadl.atomic import atomic_write_text
from clinicadl.errors import InputError
from clinicadl.maps.replicates import HPO_JSON

__all__ = [
    "DISTRIBUTIONS",
    "SEARCH_SECTION",
    "Dimension",
    "SearchResult",
    "SearchSpace",
    "SearchTrainFn",
    "Trial",
    "read_search_space",
    "run_search",
    "search_space_from",
    "search_train_fn",
    "trial_score",
]

SEARCH_SECTION = "Random_Search"
"""Section of the TOML file that holds the search space."""

DISTRIBUTIONS = ("choice", "uniform", "log_uniform", "int_uniform")
"""Sampling distributions of a dimension: a list of values, a range, a log-range, an integer range."""

TRIALS_TSV = "trials.tsv"
HPO_FOLDER = "hpo"
SELECTED_JSON = HPO_JSON
"""The hyper-parameters chosen for one replicate (:data:`clinicadl.maps.replicates.HPO_JSON`)."""


@dataclass(frozen=True)
class Dimension:
    """One hyper-parameter and its distribution.

    Attributes
    ----------
    name : str
        A training parameter (a key of ``maps.json``, e.g. ``learning_rate``).
    distribution : str
        One of :data:`DISTRIBUTIONS`.
    values : tuple
        The choices (``choice``) or the bounds ``(low, high)`` (the ranges, both included for ``int_uniform``).
    """

    name: str
    distribution: str
    values: tuple

    def sample(self, rng: np.random.Generator) -> Any:
        """One value drawn with ``rng``."""
        if self.distribution == "choice":
            return self.values[int(rng.integers(len(self.values)))]
        low, high = self.values
        if self.distribution == "uniform":
            return float(rng.uniform(low, high))
        if self.distribution == "log_uniform":
            return float(math.exp(rng.uniform(math.log(low), math.log(high))))
        return int(rng.integers(low, high + 1))


@dataclass(frozen=True)
class SearchSpace:
    """The dimensions of a random search, in the order of the file (which fixes the draws of a seed).

    ``architecture`` is set for a file in upstream's grammar (:mod:`clinicadl.training.hpo_upstream`): the sampled
    keys then describe a ``RandomArchitecture``, and :meth:`training_values` turns them into its design.
    """

    dimensions: tuple[Dimension, ...]
    source: str = ""
    architecture: Any = None

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(d.name for d in self.dimensions)

    def sample(self, n_trials: int, seed: int) -> list[dict[str, Any]]:
        """``n_trials`` configurations drawn from ``seed``; a prefix of a longer search with the same seed.

        >>> space = SearchSpace((Dimension("dropout", "uniform", (0.0, 0.5)),))
        >>> space.sample(3, seed=1)[:2] == space.sample(2, seed=1)
        True
        """
        rng = np.random.default_rng(seed)
        trials = []
        for _ in range(n_trials):
            values = {d.name: d.sample(rng) for d in self.dimensions}
            if self.architecture is not None:
                values = self.architecture.complete(values, rng)
            trials.append(values)
        return trials

    def training_values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The training parameters of a trial's sampled ``values`` (the values themselves, but for upstream's
        random network, whose keys become ``architecture``, ``convolutions_dict``, ``n_fcblocks`` ...)."""
        return dict(values) if self.architecture is None else self.architecture.training_values(values)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _dimension(name: str, spec: Any, default: Any, source: str) -> Dimension:
    where = f"{source}: [{SEARCH_SECTION}] {name}"
    if not isinstance(spec, Mapping) or len(spec) != 1 or next(iter(spec)) not in DISTRIBUTIONS:
        raise InputError(f"{where} must be one inline table among {{choice = [...]}}, {{uniform = [low, high]}}, "
                         f"{{log_uniform = [low, high]}}, {{int_uniform = [low, high]}}; got {spec!r}.")
    distribution, values = next(iter(spec.items()))
    if not isinstance(values, list) or not values:
        raise InputError(f"{where}: {distribution} needs a non-empty list, got {values!r}.")
    if distribution == "choice":
        if isinstance(default, float):
            wrong = [v for v in values if not _number(v)]
        elif isinstance(default, bool | int | str):  # exactly that type (True is not an integer choice)
            wrong = [v for v in values if type(v) is not type(default)]
        else:
            wrong = []
        if wrong:
            raise InputError(f"{where}: choices {wrong} are not of the type of {name} ({type(default).__name__}).")
        return Dimension(name, distribution, tuple(float(v) if isinstance(default, float) else v for v in values))
    if len(values) != 2 or not all(_number(v) for v in values):
        raise InputError(f"{where}: {distribution} needs [low, high], two numbers; got {values!r}.")
    low, high = values
    if low > high:
        raise InputError(f"{where}: low = {low} is above high = {high}; write [low, high] with low <= high.")
    if distribution == "log_uniform" and low <= 0:
        raise InputError(f"{where}: log_uniform needs low > 0, got {low}.")
    if distribution == "int_uniform" and not (isinstance(low, int) and isinstance(high, int)):
        raise InputError(f"{where}: int_uniform needs integer bounds, got {values!r}.")
    if isinstance(default, int) and not isinstance(default, bool) and distribution != "int_uniform":
        raise InputError(f"{where}: {name} is an integer; sample it with int_uniform or choice.")
    if isinstance(default, str | bool | list):
        raise InputError(f"{where}: {name} is not a number; sample it with choice.")
    return Dimension(name, distribution, (low, high))


def read_search_space(path: str | Path, task: str) -> tuple[SearchSpace, dict[str, Any]]:
    """Read the ``[Random_Search]`` section of a TOML file, and its fixed settings.

    Parameters
    ----------
    path : path
        The TOML file (``random_search.toml`` of a launch directory, or ``--hpo_space``).
    task : str
        The training task; the dimensions must be training parameters of this task.

    Returns
    -------
    SearchSpace
        The sampled dimensions (inline tables of ``[Random_Search]``).
    dict
        The other keys of ``[Random_Search]`` (plain values: the inputs ``caps_directory``, ``preprocessing_json``,
        ``tsv_path``, ``n_trials``...) and of the other sections, flattened (fixed training parameters).

    Raises
    ------
    InputError
        A missing or invalid file, no ``[Random_Search]`` section, an empty search space, an unknown
        hyper-parameter, a range with low > high, values of the wrong type.
    """
    from clinicadl.training.config import load_toml

    path = Path(path)
    content = load_toml(path, missing=f"Search space {path} does not exist; write a TOML file with a "
                                      f"[{SEARCH_SECTION}] section.")
    return search_space_from(content, task, str(path))


def search_space_from(content: Mapping[str, Any], task: str, source: str) -> tuple[SearchSpace, dict[str, Any]]:
    """:func:`read_search_space` on the parsed content of the TOML file ``source``."""
    from clinicadl.training.config import default_parameters

    section = content.get(SEARCH_SECTION)
    if not isinstance(section, dict):
        raise InputError(f"{source} has no [{SEARCH_SECTION}] section; add one with the hyper-parameters to sample.")
    from clinicadl.training.hpo_upstream import is_upstream_section, upstream_space

    if is_upstream_section(section):
        dimensions, fixed, architecture = upstream_space(section, task, source)
        for name, value in content.items():
            if name != SEARCH_SECTION:
                fixed.update(value if isinstance(value, dict) else {name: value})
        return SearchSpace(dimensions, source, architecture), fixed
    defaults = default_parameters(task)
    sampled = {k: v for k, v in section.items() if isinstance(v, dict)}
    unknown = sorted(set(sampled) - set(defaults))
    if unknown:
        raise InputError(f"{source}: unknown hyper-parameter(s) {', '.join(unknown)} in [{SEARCH_SECTION}]; sample "
                         f"training parameters of 'train {task}' (e.g. learning_rate, batch_size, dropout).")
    if not sampled:
        raise InputError(f"{source}: the search space of [{SEARCH_SECTION}] is empty; give at least one "
                         "hyper-parameter with a distribution, e.g. learning_rate = {log_uniform = [1e-5, 1e-3]}.")
    dimensions = tuple(_dimension(name, spec, defaults[name], source) for name, spec in sampled.items())
    fixed = {k: v for k, v in section.items() if not isinstance(v, dict)}
    for name, value in content.items():
        if name != SEARCH_SECTION:
            fixed.update(value if isinstance(value, dict) else {name: value})
    _check_architectures(dimensions, task, source)
    return SearchSpace(dimensions, source), fixed


def _check_architectures(dimensions: Sequence[Dimension], task: str, source: str) -> None:
    for dimension in dimensions:
        if dimension.name != "architecture":
            continue
        from clinicadl.models.registry import list_models

        known = {m.name for m in list_models(task)}
        wrong = [v for v in dimension.values if v not in known]
        if wrong:
            raise InputError(f"{source}: architecture(s) {wrong} are not models of {task}; see "
                             f"`clinicadl train list_models --task {task}`.")


# ------------------------------------------------------------------------------------------------ trials


@dataclass(frozen=True)
class Trial:
    """One configuration of a search and the validation score of its training."""

    index: int
    values: dict[str, Any]
    score: float
    maps: Path


@dataclass(frozen=True)
class SearchResult:
    """The trials of a search and the one kept."""

    trials: tuple[Trial, ...]
    best: Trial
    metric: str
    higher_is_better: bool
    seed: int
    space: SearchSpace = field(repr=False)


def trial_score(maps: str | Path, metric: str) -> float:
    """Validation value of ``metric`` at its best epoch, averaged over the splits of a MAPS (``training.tsv``)."""
    import pandas as pd

    from clinicadl.training.config import LOWER_IS_BETTER

    values = []
    for log in sorted(Path(maps).glob("split-*/training_logs/training.tsv")):
        column = pd.read_csv(log, sep="\t").get(f"{metric}_valid")
        if column is None or column.dropna().empty:
            raise InputError(f"{log} has no validation values of {metric!r}; select trials by a metric the training "
                             "logs (one of its selection_metrics).")
        values.append(column.min() if metric in LOWER_IS_BETTER else column.max())
    if not values:
        raise InputError(f"{maps} holds no training log (split-*/training_logs/training.tsv): the trial did not train.")
    return float(np.mean(values))


def _write_trials(folder: Path, trials: Sequence[Trial], best: int | None) -> None:
    import pandas as pd

    rows = [{"trial": t.index, **t.values, "score": t.score, "selected": t.index == best} for t in trials]
    atomic_write_text(folder / TRIALS_TSV, pd.DataFrame(rows).to_csv(sep="\t", index=False))


def run_search(
    parameters: Mapping[str, Any],
    space: SearchSpace,
    *,
    n_trials: int,
    seed: int,
    output: str | Path,
    train: Callable[[dict[str, Any], Path], None],
    metric: str | None = None,
) -> SearchResult:
    """Train ``n_trials`` sampled configurations into ``output/trial-<t>`` and keep the best one.

    Parameters
    ----------
    parameters : mapping
        Resolved training parameters; each trial overrides the sampled ones.
    space : SearchSpace
    n_trials : int
        Number of configurations (at least 1).
    seed : int
        Seed of the draws (the replicate's ``hpo`` seed).
    output : path
        Folder of the trials; ``trials.tsv`` lists every configuration and score. A trial whose MAPS is complete
        is not trained again (resumable).
    train : callable
        ``train(trial_parameters, trial_folder)`` trains one MAPS.
    metric : str, optional
        Selection metric (default: the first of ``parameters["selection_metrics"]``).

    Returns
    -------
    SearchResult
    """
    from clinicadl.training.config import LOWER_IS_BETTER, load_config

    if isinstance(n_trials, bool) or not isinstance(n_trials, int) or n_trials < 1:
        raise InputError(f"The number of trials must be a positive integer, got {n_trials!r}.")
    metric = metric or next(iter(parameters.get("selection_metrics") or ["loss"]))
    task = str(parameters["network_task"])
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    trials: list[Trial] = []
    for index, values in enumerate(space.sample(n_trials, seed)):
        trial = space.training_values(values)
        load_config(task, trial)  # the sampled values pass the checks of the command line
        folder = output / f"trial-{index}"
        train({**parameters, **trial}, folder)
        trials.append(Trial(index, values, trial_score(folder, metric), folder))
        _write_trials(output, trials, None)
    lower = metric in LOWER_IS_BETTER
    scores = np.array([t.score for t in trials])
    best = trials[int(np.nanargmin(scores) if lower else np.nanargmax(scores))]
    _write_trials(output, trials, best.index)
    return SearchResult(tuple(trials), best, metric, not lower, int(seed), space)


# ----------------------------------------------------------------------------------- replicates with hpo


def _copy_maps(source: Path, target: Path) -> None:
    """Copy the MAPS of the selected trial into the replicate folder (everything but the trials)."""
    for item in source.iterdir():
        destination = target / item.name
        if item.is_dir():
            shutil.copytree(item, destination, dirs_exist_ok=True)
        else:
            shutil.copy2(item, destination)


@dataclass(frozen=True)
class SearchTrainFn:
    """Train function of a replicate that first searches its hyper-parameters (``--vary ...,hpo``).

    Called like :func:`clinicadl.training.trainer.train_replicate`; every trial is trained with the replicate's
    seeds into ``<replicate>/hpo/trial-<t>``, with the draws of ``seeds["hpo"]``; the best trial's MAPS becomes the
    replicate's, its values recorded in ``maps.json`` (``hpo``) and in ``<replicate>/hpo.json``.
    """

    space: SearchSpace
    n_trials: int
    base: Callable[..., None] | None = None

    def __call__(self, parameters: Mapping[str, Any], maps_dir: str | Path, seeds: Mapping[str, int], *,
                 resample_split: bool = False, progress: bool = True, after_split=None) -> None:
        from clinicadl.maps.maps_json import read_maps_json, write_maps_json
        from clinicadl.training.trainer import train_replicate

        base = self.base or train_replicate
        maps = Path(maps_dir)
        if (maps / SELECTED_JSON).is_file():
            return  # selected earlier: the replicate is complete

        step = {} if after_split is None else {"after_split": after_split}

        def train(trial_parameters: dict[str, Any], folder: Path) -> None:
            base(trial_parameters, folder, dict(seeds), resample_split=resample_split, progress=progress, **step)

        result = run_search(parameters, self.space, n_trials=self.n_trials, seed=int(seeds["hpo"]),
                            output=maps / HPO_FOLDER, train=train)
        _copy_maps(result.best.maps, maps)
        content = read_maps_json(maps)
        content["hpo"] = {"trial": result.best.index, "values": result.best.values, "metric": result.metric,
                          "score": result.best.score, "n_trials": self.n_trials, "seed": result.seed,
                          "space": self.space.source}
        write_maps_json(maps, content)
        atomic_write_text(maps / SELECTED_JSON, json.dumps(content["hpo"], indent=2, default=str))


HPO_KEY = "hpo_search"
"""Key of ``maps.json`` recording the search of a procedure with ``hpo`` varied: ``{"space": path, "n_trials": T}``."""


def search_train_fn(parameters: Mapping[str, Any]) -> SearchTrainFn | None:
    """The train function a MAPS was trained with when it searched its hyper-parameters (for resume), else None."""
    record = parameters.get(HPO_KEY)
    if not record:
        return None
    space, _ = read_search_space(record["space"], str(parameters["network_task"]))
    return SearchTrainFn(space, int(record["n_trials"]))


# ------------------------------------------------------------------------------------ clinicadl random-search

LAUNCH_TOML = "random_search.toml"
INPUT_KEYS = ("network_task", "caps_directory", "preprocessing_json", "tsv_directory", "tsv_path", "n_trials")
"""Keys of ``[Random_Search]`` that are inputs of the search, not training parameters."""


def _input_path(launch: Path, value: Any, key: str, source: Path) -> Path:
    if not value:
        raise InputError(f"{source}: [{SEARCH_SECTION}] needs {key} (the {key.replace('_', ' ')} to train on).")
    path = Path(str(value))
    return path if path.is_absolute() else launch / path


def random_search(launch_directory: str | Path, name: str, *, n_trials: int | None = None,
                  progress: bool = True, after_split=None) -> SearchResult:
    """``clinicadl random-search LAUNCH_DIRECTORY NAME``: sample, train and select configurations.

    Reads ``LAUNCH_DIRECTORY/random_search.toml``: ``[Random_Search]`` holds the inputs (``network_task``,
    ``caps_directory``, ``preprocessing_json``, ``tsv_directory``, optionally ``n_trials``) and the sampled
    hyper-parameters; the other sections are fixed training parameters, as in a train TOML. Trials are trained
    into ``LAUNCH_DIRECTORY/NAME/trial-<t>`` (each a 1.x MAPS), listed with their validation scores in
    ``NAME/trials.tsv``; the draws come from the ``hpo`` seed of the root ``seed`` (``[Reproducibility]``), so the
    same file gives the same configurations. An interrupted search resumes: finished trials are not retrained.

    A file in upstream's grammar (``n_convblocks``, ``first_conv_width``, ``n_fcblocks``, plain values: see
    :mod:`clinicadl.training.hpo_upstream`) trains, as upstream, one sampled network per call unless ``n_trials``
    is given; its draw comes from the ``hpo`` seed and NAME, so that each NAME gets its own network, reproducibly.
    """
    from clinicadl.training.config import default_parameters, load_config, load_toml, resolve_parameters
    from clinicadl.training.seeds import replicate_seeds
    from clinicadl.training.trainer import train_replicate

    launch = Path(launch_directory)
    source = launch / LAUNCH_TOML
    content = load_toml(source, missing=f"{source} does not exist; write the search space in {LAUNCH_TOML} in "
                                        "LAUNCH_DIRECTORY.")
    section = content.get(SEARCH_SECTION, {})
    task = str(section.get("network_task", "classification") if isinstance(section, dict) else "classification")
    space, fixed = search_space_from(content, task, str(source))
    inputs = {key: fixed.pop(key) for key in INPUT_KEYS if key in fixed}
    unknown = sorted(set(fixed) - set(default_parameters(task)))
    if unknown:
        raise InputError(f"{source}: unknown key(s) {', '.join(unknown)}; the fixed keys are the training parameters "
                         f"of 'train {task}'.")
    upstream = space.architecture is not None and n_trials is None and "n_trials" not in inputs
    trials = 1 if upstream else n_trials if n_trials is not None else inputs.get("n_trials", 10)
    parameters = resolve_parameters(
        load_config(task, fixed), network_task=task,
        caps_directory=_input_path(launch, inputs.get("caps_directory"), "caps_directory", source),
        preprocessing_json=str(inputs.get("preprocessing_json") or ""),
        tsv_directory=_input_path(launch, inputs.get("tsv_directory") or inputs.get("tsv_path"), "tsv_directory",
                                  source))
    seeds = replicate_seeds(int(parameters["seed"]), 0)
    if upstream:  # upstream trains one sampled network per call: each NAME draws its own, reproducibly
        entropy = [seeds["hpo"], zlib.crc32(str(name).encode("utf-8"))]
        seeds["hpo"] = int(np.random.SeedSequence(entropy).generate_state(1)[0])

    def train(trial_parameters: dict[str, Any], folder: Path) -> None:
        train_replicate(trial_parameters, folder, seeds, resample_split=False, progress=progress,
                        after_split=after_split)

    output = launch / name
    result = run_search(parameters, space, n_trials=trials, seed=seeds["hpo"], output=output, train=train)
    record = {"space": str(source), "n_trials": trials, "hpo_seed": seeds["hpo"], "metric": result.metric,
              "selected_trial": result.best.index, "selected_values": result.best.values,
              "selected_score": result.best.score}
    atomic_write_text(output / "random_search.json", json.dumps(record, indent=2, default=str))
    return result
