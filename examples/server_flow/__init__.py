"""Explicit wiring of ServerAPI in your own entry point."""
