"""Attribution maps of trained models on data groups (``clinicadl interpret``): gradients and Grad-CAM.

======================  ==========================================================================================
module                  concept
======================  ==========================================================================================
:mod:`.saliency`        the attribution methods (``gradients``, ``grad-cam``) on a batch of images (torch)
:mod:`.group`           the data group to interpret: its images per split and its CAPS (upstream's group rules)
:mod:`.figure`          the PNG of a mean map (three orthogonal slices, colour bar)
:mod:`.interpret`       every model of a MAPS (replicates included) on a group, in upstream's layout
======================  ==========================================================================================

Import :func:`clinicadl.interpret.interpret.interpret`; this package's ``__init__`` imports nothing heavy.
Layers: it sits beside :mod:`clinicadl.predict` (above :mod:`clinicadl.runtime`) and imports neither
:mod:`clinicadl.training` nor :mod:`clinicadl.evaluate`.
"""
