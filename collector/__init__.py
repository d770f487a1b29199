"""Turns inputs (definitions, API rows, events, files) into plain graph data."""
