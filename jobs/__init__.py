"""Wiring: the sync, the worker (scheduler, consumers), the CLI; the demo is in the dev tools (devtools/)."""
