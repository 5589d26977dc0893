"""JupyterLab integration: nbgrader exchange classes backed by the nbcred web service.

``nbcred.jupyter.exchange`` holds the classes nbgrader's ``ExchangeFactory`` loads;
``nbcred.jupyter.client`` is the typed client of the service's API they use. The configuration
lines are written by ``nbcred jupyter setup`` (:mod:`nbcred.service.jupyter_setup`).
"""

from __future__ import annotations

from nbcred.jupyter.client import ServiceClient

__all__ = ["ServiceClient"]
