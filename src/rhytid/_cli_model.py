"""Command-line commands of the model: ``anatomy``, ``simulate``."""

from __future__ import annotations

import typer

__all__ = ["register"]


def register(app: typer.Typer) -> None:
    """Add the model commands to the ``rhytid`` app."""
