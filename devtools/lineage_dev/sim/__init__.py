"""Simulated AWS account (moto server + SageMaker pipeline extensions) for tests and the demo."""

from lineage_dev.sim.account import seed_demo_account, seed_execution, seed_pipeline
from lineage_dev.sim.faults import clear as clear_faults
from lineage_dev.sim.faults import inject as inject_fault
from lineage_dev.sim.server import SimAws, start_sim

__all__ = [
    "SimAws",
    "clear_faults",
    "inject_fault",
    "seed_demo_account",
    "seed_execution",
    "seed_pipeline",
    "start_sim",
]
