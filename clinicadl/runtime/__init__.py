"""What training and prediction share: the model runtime (imports nothing heavy here).

======================  ==========================================================================================
module                  concept
======================  ==========================================================================================
:mod:`.device`          the device (CPU or GPU) and automatic mixed precision
:mod:`.loaders`         data loaders with their own generators
:mod:`.network`         the network of a ``maps.json``'s parameters
:mod:`.checkpoints`     trained networks of a MAPS (``split-<i>/best-<m>/model.pth.tar``) and their state dicts
:mod:`.criterion`       the loss of each task
:mod:`.outputs`         from network outputs to rows of upstream's prediction TSVs
:mod:`.segmentation`    segmentation loss, predicted label maps and their metric rows
:mod:`.inference`       running a network over a loader
:mod:`.metric_names`    network tasks and upstream's metric names of each task
:mod:`.metrics`         upstream's metrics of a prediction table
======================  ==========================================================================================

Layers: :mod:`clinicadl.training` and :mod:`clinicadl.predict` import this package; it imports neither of them.
"""
