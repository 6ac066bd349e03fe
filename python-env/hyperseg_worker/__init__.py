"""hyperseg's PyTorch compute worker: the hyperbolic VAE, its geometry, and the ZeroMQ server."""

__version__ = "0.1.0"
