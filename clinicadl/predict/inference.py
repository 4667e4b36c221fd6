"""Former home of the model runtime, now :mod:`clinicadl.runtime` (these names are re-exported from there)."""

from clinicadl.runtime.checkpoints import load_trained_network, model_path
from clinicadl.runtime.device import autocast, select_device
from clinicadl.runtime.inference import infer
from clinicadl.runtime.loaders import EVALUATION_SEED, make_loader
from clinicadl.runtime.network import build_network

__all__ = ["EVALUATION_SEED", "autocast", "build_network", "infer", "load_trained_network", "make_loader",
           "model_path", "select_device"]
