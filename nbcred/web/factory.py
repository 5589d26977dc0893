"""``app`` built from the environment, for ASGI servers started by import string
(``uvicorn nbcred.web.factory:app --workers 4``, gunicorn with uvicorn workers)."""

from nbcred.web.app import create_app

app = create_app()
