"""Typed access to the packaged parameter files in ``rhytid/data``.

Every number lives in a YAML file next to its unit and source, in the form::

    name: {value: 1.62, unit: mm, source: "Surg Radiol Anat (50 hemibrows)"}

:func:`load_yaml` reads a file once; :func:`value` takes the ``value`` of such an entry and
fails at start-up, naming the file and key, when it is missing or has no source.

``calibrated.yaml`` (written by ``rhytid calibrate``) overrides individual values with fitted
ones: its ``parameters`` map ``"<file>:<dotted.path>"`` to ``{value, source}`` entries, and its
``provenance`` records how they were obtained. :func:`value` consults it first.
"""

from __future__ import annotations

import hashlib
from functools import cache
from importlib import resources
from typing import Any

import yaml

from rhytid.errors import ParameterError

__all__ = [
    "CALIBRATED",
    "calibrated_overrides",
    "load_yaml",
    "packaged_value",
    "parameters_hash",
    "sourced",
    "value",
]

CALIBRATED = "calibrated.yaml"

DATA_FILES = (
    "anatomy.yaml",
    "toxins.yaml",
    "tissue.yaml",
    "clinic.yaml",
    "population.yaml",
    "calibration_targets.yaml",
    CALIBRATED,
)


@cache
def _raw(name: str) -> bytes:
    try:
        return resources.files("rhytid.data").joinpath(name).read_bytes()
    except FileNotFoundError as exc:
        raise ParameterError(f"data file {name!r} is missing from the package") from exc


@cache
def load_yaml(name: str) -> dict[str, Any]:
    """Parse ``rhytid/data/<name>`` (cached)."""
    data = yaml.safe_load(_raw(name))
    if not isinstance(data, dict):
        raise ParameterError(f"data file {name!r} must hold a mapping at the top level")
    return data


def sourced(entry: Any, where: str) -> Any:
    """Return ``entry['value']`` after checking that the entry names its source."""
    if not isinstance(entry, dict) or "value" not in entry:
        raise ParameterError(f"{where}: expected {{value: ..., source: ...}}, got {entry!r}")
    if not str(entry.get("source", "")).strip():
        raise ParameterError(f"{where}: every value needs a source")
    return entry["value"]


@cache
def calibrated_overrides() -> dict[str, Any]:
    """The fitted values of ``calibrated.yaml`` by ``"<file>:<dotted.path>"`` (empty if none)."""
    try:
        data = load_yaml(CALIBRATED)
    except ParameterError:
        return {}
    params = data.get("parameters") or {}
    if not isinstance(params, dict):
        raise ParameterError(f"{CALIBRATED}: 'parameters' must be a mapping")
    return params


def value(file: str, *path: str) -> Any:
    """Look up a sourced value, e.g. ``value("tissue.yaml", "skin", "dermis_modulus_mpa")``.

    A fitted value in ``calibrated.yaml`` takes precedence over the file's own.
    """
    key = f"{file}:{'.'.join(path)}"
    overrides = calibrated_overrides()
    if key in overrides:
        return sourced(overrides[key], f"{CALIBRATED}:{key}")
    node: Any = load_yaml(file)
    for i, key in enumerate(path):
        if not isinstance(node, dict) or key not in node:
            joined = ".".join(path[: i + 1])
            raise ParameterError(f"{file}: missing parameter {joined!r}")
        node = node[key]
    return sourced(node, f"{file}:{'.'.join(path)}")


def packaged_value(file: str, *path: str) -> Any:
    """:func:`value` without the fitted overrides of ``calibrated.yaml``: the packaged value."""
    node: Any = load_yaml(file)
    for i, key in enumerate(path):
        if not isinstance(node, dict) or key not in node:
            raise ParameterError(f"{file}: missing parameter {'.'.join(path[: i + 1])!r}")
        node = node[key]
    return sourced(node, f"{file}:{'.'.join(path)}")


@cache
def parameters_hash() -> str:
    """SHA-256 over every packaged parameter file: the provenance stamp of an Outcome."""
    digest = hashlib.sha256()
    for name in DATA_FILES:
        try:
            digest.update(name.encode())
            digest.update(_raw(name))
        except ParameterError:
            continue
    return "sha256:" + digest.hexdigest()
