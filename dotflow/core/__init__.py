"""Kept for 1.x import paths: ``dotflow.core.types``."""
