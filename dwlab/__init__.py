"""dwlab: measurements of spintronic domain-wall neuron devices, on hardware or a simulated lab."""

from dwlab.version import __version__

__all__ = ["__version__"]
