"""Inference of trained models on data groups (``clinicadl predict``): prediction TSVs, metrics and intervals.

Import :func:`clinicadl.predict.predict.predict`; this package's ``__init__`` imports nothing heavy.
"""
