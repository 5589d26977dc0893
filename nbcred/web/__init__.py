"""The nbcred web service: ``create_app(settings)`` builds the ASGI app (pages, /api/v1, public URLs)."""

from nbcred.web.app import create_app

__all__ = ["create_app"]
