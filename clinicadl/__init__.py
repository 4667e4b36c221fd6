"""clinicadl: deep learning for neuroimaging, with statistical assessment built in.

Importing the package is cheap: it imports neither torch nor pandas. Sub-packages are
imported on demand (``from clinicadl.stats import bootstrap_ci``).
"""

__version__ = "0.1.0"
