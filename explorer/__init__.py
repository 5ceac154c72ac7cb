"""Layer Explorer: container image tarballs as the layer stack they are."""

__version__ = "0.1.0"
