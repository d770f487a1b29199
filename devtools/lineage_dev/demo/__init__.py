"""The demo: a local Neo4j, a simulated AWS account seeded with SDK-made pipelines, one sync.

PIPELINES_DIR holds the pipeline definitions made by generate_pipelines.py (package data).
"""
from pathlib import Path

PIPELINES_DIR = Path(__file__).resolve().parent / "pipelines"
