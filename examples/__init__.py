"""Runnable examples; `dotflow start --workflow examples.quickstart:build` imports them from the repo root."""
