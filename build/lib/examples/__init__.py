"""Sample data shipped with csagent, read as package data (so an installed csagent finds it):
the V1 poller's messages.json for the import, the Mirakl simulator's orders, the demo ERP's
stock, costs and shipments, and example refund rules."""

from __future__ import annotations

from importlib.resources import as_file, files
from pathlib import Path


def _path(*parts: str) -> Path:
    # The package is installed as plain files (not zipped), so this path stays valid.
    with as_file(files(__name__).joinpath(*parts)) as path:
        return Path(path)


ROOT = _path()
SAMPLE_V1_FILE = _path("v1", "messages.json")
MIRAKL_ORDERS = _path("mirakl", "orders.json")
ERP = _path("erp")
REFUND_RULES = _path("refund_rules.yaml")
