"""dotflow: a lightweight runner for execution pipelines."""
__version__ = "2.0.0.dev0"
