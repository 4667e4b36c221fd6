"""Seeds of the sources of variance of a learning procedure, one independent stream per source.

A learning procedure is random in several independent ways: the train/validation partition
(``split``), the weight initialisation (``init``), the order of the training data (``order``), the
data augmentation (``augmentation``), dropout masks (``dropout``) and the choice of hyper-parameters
(``hpo``). Bouthillier et al. (2021) showed that they contribute very differently to the variance of
the measured performance, so each gets its own seed, derived from ``(root seed, replicate, source)``
with :class:`numpy.random.SeedSequence`. Consequences:

- varying one source leaves the others untouched;
- a source that is not varied keeps the same seed in every replicate (replicate index 0 is used);
- seeds do not depend on the model or the hyper-parameters, so two procedures trained with the same
  root seed are paired replicate by replicate.

References
----------
Bouthillier X. et al. (2021). Accounting for variance in machine learning benchmarks. MLSys 3.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from clinicadl.errors import InputError

SOURCES: tuple[str, ...] = ("split", "init", "order", "augmentation", "dropout", "hpo")
"""Named sources of variance, in the order of the ``seed_<source>`` columns of ``replicates.tsv``."""

DEFAULT_VARIED: tuple[str, ...] = ("split", "init", "order", "augmentation", "dropout")
"""Sources varied by ``train --replicates`` when ``--vary`` is not given (``hpo`` needs a search space)."""


ALL = "all"
"""Alias of every source of :data:`DEFAULT_VARIED` in ``--vary`` (``all,hpo`` adds the hyper-parameter search)."""


def check_sources(sources: Iterable[str]) -> tuple[str, ...]:
    """Validate source names (case-insensitive, duplicates removed, canonical order; ``all``: the default ones).

    >>> check_sources(["hpo", "all"])
    ('split', 'init', 'order', 'augmentation', 'dropout', 'hpo')
    """
    wanted = {s.strip().lower() for s in sources if s.strip()}
    if ALL in wanted:
        wanted = (wanted - {ALL}) | set(DEFAULT_VARIED)
    unknown = sorted(wanted - set(SOURCES))
    if unknown:
        raise InputError(f"Unknown source(s) of variance {', '.join(unknown)}; choose among {', '.join(SOURCES)} "
                         f"(or {ALL}: {', '.join(DEFAULT_VARIED)}).")
    return tuple(s for s in SOURCES if s in wanted)


def source_seed(root_seed: int, replicate: int, source: str) -> int:
    """The seed of one source in one replicate: 32 bits of ``SeedSequence([root, replicate, index])``."""
    if source not in SOURCES:
        raise InputError(f"Unknown source of variance {source!r}; choose among {', '.join(SOURCES)}.")
    if root_seed < 0 or replicate < 0:
        raise InputError(f"Seeds and replicate indices must be non-negative, got {root_seed} and {replicate}.")
    state = np.random.SeedSequence([root_seed, replicate, SOURCES.index(source)]).generate_state(1)
    return int(state[0])


def replicate_seeds(root_seed: int, replicate: int, varied: Iterable[str] = DEFAULT_VARIED) -> dict[str, int]:
    """Seeds of every source for one replicate; sources not in ``varied`` take replicate 0's seed.

    Examples
    --------
    >>> a = replicate_seeds(0, 1, varied=["init"])
    >>> b = replicate_seeds(0, 2, varied=["init"])
    >>> a["split"] == b["split"], a["init"] == b["init"]
    (True, False)
    """
    varied = check_sources(varied)
    return {s: source_seed(root_seed, replicate if s in varied else 0, s) for s in SOURCES}


def torch_generator(seed: int):
    """A ``torch.Generator`` seeded with ``seed`` (imports torch)."""
    import torch

    generator = torch.Generator()
    generator.manual_seed(int(seed))
    return generator
