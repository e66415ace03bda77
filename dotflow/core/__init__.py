"""Kept for 1.x import paths: ``dotflow.core.types`` and ``dotflow.core.{action, config, context,
dotflow, exception, task, workflow}``, each naming this version's objects. Nothing is imported here."""
