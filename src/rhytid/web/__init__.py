"""The clinic web app: FastAPI JSON API under ``/api/``, server-rendered pages, patient links."""

from rhytid.web._app import create_app
from rhytid.web._settings import Settings, load_settings

__all__ = ["Settings", "create_app", "load_settings"]
