"""Upstream's ``random_search.toml`` grammar (ClinicaDL 1.6.1), read into our search space.

Upstream writes the ``[Random_Search]`` section with plain values and gives each key a fixed sampling rule:

- ``exponent`` (``learning_rate``, ``weight_decay``): ``[a, b]`` draws ``x ~ U(a, b)`` and gives ``10**-x``; a single
  number ``x`` gives ``10**-x``. ``10**-U(a, b)`` is log-uniform on ``[10**-b, 10**-a]``: our ``log_uniform``;
- ``uniform`` (``dropout``): ``[low, high]``;
- ``randint`` (``accumulation_steps``, ``n_convblocks``, ``n_fcblocks``): an integer of ``[low, high]``;
- ``choice`` (``baseline``, ``normalize``, ``multi_network``, ``optimizer``, ``sampler``, ``transfer_path``,
  ``transfer_selection_metric``, ``wd_bool``, ``first_conv_width``, ``d_reduction``, ``network_normalization``,
  ``n_conv``): one element of a list (``n_conv``: once per convolutional block);
- every other key is fixed. A single value of a sampled key is fixed too.

``n_convblocks``, ``first_conv_width`` and ``n_fcblocks`` (mandatory upstream, and how a file is recognised as
upstream's), with ``n_conv`` (default 1), ``d_reduction`` (``MaxPooling``), ``network_normalization``
(``BatchNorm``) and ``channels_limit`` (512), describe the sampled network, a
:class:`~clinicadl.models.random_architecture.RandomArchitecture`. ``wd_bool = false`` sets the weight decay to 0.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from clinicadl.errors import InputError
from clinicadl.training.hpo import SEARCH_SECTION, Dimension, _dimension

__all__ = ["ARCHITECTURE_KEYS", "SAMPLING", "ArchitectureSpace", "is_upstream_section", "upstream_space"]

SAMPLING: dict[str, str] = {
    "learning_rate": "exponent", "weight_decay": "exponent", "dropout": "uniform", "accumulation_steps": "randint",
    "baseline": "choice", "normalize": "choice", "multi_network": "choice", "optimizer": "choice",
    "sampler": "choice", "transfer_path": "choice", "transfer_selection_metric": "choice", "wd_bool": "choice",
    "n_convblocks": "randint", "n_fcblocks": "randint", "first_conv_width": "choice", "d_reduction": "choice",
    "network_normalization": "choice",
}
"""Upstream's sampling rule of each key of ``[Random_Search]`` (keys not listed are fixed)."""

ARCHITECTURE_KEYS = ("n_convblocks", "first_conv_width", "n_fcblocks", "n_conv", "d_reduction",
                     "network_normalization", "channels_limit")
"""Keys that describe upstream's random network; ``n_conv`` is drawn per block by :class:`ArchitectureSpace`."""

_ARCHITECTURE_DEFAULTS = {"n_conv": 1, "d_reduction": "MaxPooling", "network_normalization": "BatchNorm",
                          "channels_limit": 512}
_IGNORED = ("mode", "ssda_netork")  # upstream takes the mode from the extraction JSON; a misspelt unused key


def is_upstream_section(section: Mapping[str, Any]) -> bool:
    """Whether ``[Random_Search]`` is written in upstream's grammar (it has upstream's mandatory ``n_convblocks``)."""
    return "n_convblocks" in section


@dataclass(frozen=True)
class ArchitectureSpace:
    """What turns the sampled architecture keys into a ``RandomArchitecture`` (per-block ``n_conv`` draws).

    Attributes
    ----------
    n_conv : tuple of int
        Choices of the number of convolutions of each block.
    channels_limit : int
        The channels double from block to block up to this number.
    """

    n_conv: tuple[int, ...]
    channels_limit: int

    def complete(self, values: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        """Add the number of convolutions of each of the ``n_convblocks`` blocks, drawn with ``rng``."""
        blocks = int(values["n_convblocks"])
        values["n_conv"] = [int(self.n_conv[int(rng.integers(len(self.n_conv)))]) for _ in range(blocks)]
        return values

    def training_values(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The training parameters of a trial: ``architecture = "RandomArchitecture"`` and its design."""
        from clinicadl.models.random_architecture import design_convolutions

        trial = {key: value for key, value in values.items() if key not in ARCHITECTURE_KEYS and key != "wd_bool"}
        if values.get("wd_bool") is False:
            trial["weight_decay"] = 0.0
        trial["architecture"] = "RandomArchitecture"
        trial["convolutions_dict"] = design_convolutions(int(values["first_conv_width"]), values["n_conv"],
                                                         d_reduction=str(values["d_reduction"]),
                                                         channels_limit=self.channels_limit)
        trial["n_fcblocks"] = int(values["n_fcblocks"])
        trial["network_normalization"] = str(values["network_normalization"])
        return trial


def _architecture_dimension(name: str, value: Any, where: str) -> Dimension:
    rule = SAMPLING[name]
    values = value if isinstance(value, list) else [value]
    if rule == "randint":
        if len(values) == 1:
            values = [values[0], values[0]]
        if len(values) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in values) \
                or values[0] > values[1]:
            raise InputError(f"{where} must be [low, high], two positive integers with low <= high; got {value!r}.")
        return Dimension(name, "int_uniform", tuple(values))
    allowed = {"d_reduction": ("MaxPooling", "stride"), "network_normalization": ("BatchNorm", "InstanceNorm", "None")}
    if name in allowed:
        wrong = [v for v in values if v not in allowed[name]]
        if wrong or not values:
            raise InputError(f"{where}: {wrong or value!r} not among {', '.join(allowed[name])}.")
    elif not values or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in values):
        raise InputError(f"{where} must be a positive integer or a list of them; got {value!r}.")
    return Dimension(name, "choice", tuple(values))


def _training_dimension(name: str, value: Any, default: Any, source: str) -> Dimension | None:
    """Our dimension for upstream's rule of ``name``; None when the value is fixed."""
    rule = SAMPLING[name]
    if not isinstance(value, list) or (rule == "choice" and isinstance(default, list)):
        return None
    where = f"{source}: [{SEARCH_SECTION}] {name}"
    if rule in ("exponent", "uniform", "randint") and len(value) != 2:
        raise InputError(f"{where} = {value!r}: upstream's {rule} sampling takes [low, high].")
    if rule == "exponent":
        low, high = value
        if not all(isinstance(v, int | float) and not isinstance(v, bool) for v in value) or low > high:
            raise InputError(f"{where} = {value!r}: give the exponents [a, b] (a <= b) of 10^-x, x ~ U(a, b).")
        return _dimension(name, {"log_uniform": [10.0 ** -high, 10.0 ** -low]}, default, source)
    spec = {"randint": "int_uniform", "uniform": "uniform", "choice": "choice"}[rule]
    return _dimension(name, {spec: list(value)}, default, source)


def upstream_space(section: Mapping[str, Any], task: str, source: str) -> tuple[
        tuple[Dimension, ...], dict[str, Any], ArchitectureSpace]:
    """Read an upstream ``[Random_Search]`` section: our dimensions, the fixed values, the architecture space.

    Raises
    ------
    InputError
        A missing mandatory key (``n_convblocks``, ``first_conv_width``, ``n_fcblocks``), a range that is not
        ``[low, high]``, a value of the wrong type.
    """
    from clinicadl.training.config import default_parameters

    missing = [key for key in ("n_convblocks", "first_conv_width", "n_fcblocks") if key not in section]
    if missing:
        raise InputError(f"{source}: [{SEARCH_SECTION}] in upstream's grammar needs {', '.join(missing)} "
                         "(the random network's blocks).")
    defaults = default_parameters(task)
    merged = {**_ARCHITECTURE_DEFAULTS, **section}
    dimensions: list[Dimension] = []
    fixed: dict[str, Any] = {}
    for name, value in merged.items():
        where = f"{source}: [{SEARCH_SECTION}] {name}"
        if name in _IGNORED or name in ("n_conv", "channels_limit"):
            continue
        if name in ARCHITECTURE_KEYS:
            dimensions.append(_architecture_dimension(name, value, where))
        elif (name in SAMPLING and name in defaults) or name == "wd_bool":
            dimension = None if name == "wd_bool" else _training_dimension(name, value, defaults[name], source)
            if name == "wd_bool" and isinstance(value, list):
                dimension = Dimension(name, "choice", tuple(bool(v) for v in value))
            if dimension is not None:
                dimensions.append(dimension)
            elif name == "wd_bool":
                if value is False:
                    fixed["weight_decay"] = 0.0
            elif SAMPLING[name] == "exponent":
                fixed[name] = 10.0 ** -float(value)
            else:
                fixed[name] = value
        else:
            fixed[name] = value
    if section.get("wd_bool") is False:  # no weight decay, whatever weight_decay says
        dimensions = [d for d in dimensions if d.name != "weight_decay"]
        fixed["weight_decay"] = 0.0
    n_conv = merged["n_conv"] if isinstance(merged["n_conv"], list) else [merged["n_conv"]]
    _architecture_dimension("first_conv_width", n_conv, f"{source}: [{SEARCH_SECTION}] n_conv")  # positive integers
    limit = merged["channels_limit"]
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise InputError(f"{source}: [{SEARCH_SECTION}] channels_limit must be a positive integer; got {limit!r}.")
    return tuple(dimensions), fixed, ArchitectureSpace(tuple(int(v) for v in n_conv), int(limit))
