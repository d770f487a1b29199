"""Simulated AWS account (moto server + SageMaker pipeline extensions) for tests and the demo."""

from jobs.sim.account import seed_demo_account, seed_execution, seed_pipeline
from jobs.sim.faults import clear as clear_faults
from jobs.sim.faults import inject as inject_fault
from jobs.sim.server import SimAws, start_sim

__all__ = [
    "SimAws",
    "clear_faults",
    "inject_fault",
    "seed_demo_account",
    "seed_execution",
    "seed_pipeline",
    "start_sim",
]
