"""JupyterLab integration: nbgrader exchange classes backed by the nbcred web service.

``nbcred.jupyter.exchange`` holds the classes nbgrader's ``ExchangeFactory`` loads;
``nbcred.jupyter.setup`` writes the configuration lines; ``nbcred.jupyter.client`` is the typed
client of the service's API they use.
"""

from __future__ import annotations

from nbcred.jupyter.client import ServiceClient
from nbcred.jupyter.setup import EXCHANGE_CLASSES, SetupResult, write_config

__all__ = ["EXCHANGE_CLASSES", "ServiceClient", "SetupResult", "write_config"]
