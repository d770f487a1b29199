"""Wiring: the sync, the worker (scheduler, consumers), the CLI, the demo."""
