"""Data layer: CAPS discovery, participant TSVs and splits, synthetic data generators, tensor extraction
and (torch) datasets. Importing this package does not import torch; the dataset modules do."""
