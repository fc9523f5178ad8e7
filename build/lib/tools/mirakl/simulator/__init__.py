"""The Mirakl Seller API simulator: in-memory state, a router per resource, test controls."""

from tools.mirakl.simulator.app import create_simulator
from tools.mirakl.simulator.state import SimulatorState

__all__ = ["SimulatorState", "create_simulator"]
