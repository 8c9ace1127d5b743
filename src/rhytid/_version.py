"""The model version stamped on every Outcome."""

__version__ = "0.1.0"
