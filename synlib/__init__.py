"""synlib: muscle-synergy extraction with NMF and autoencoders.

The library behind the Jupyter Book companion to Brambilla et al. (2025),
"The trade-off between maximizing reconstruction and physiological
interpretation of muscle synergies with autoencoders",
Front. Hum. Neurosci. 19, doi:10.3389/fnhum.2025.1699799.
"""

__version__ = "0.1.0"
