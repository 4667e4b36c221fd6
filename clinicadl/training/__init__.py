"""Training: seeds per source of variance, the trainer, replicates, checkpoints and resume, launchers.

Importing this package does not import torch; the trainer modules do.
"""
