"""Strict, bounded JSON parsing for untrusted metadata (BAD-INPUT.md B5)."""

from __future__ import annotations

import json
from typing import Any

from explorer.core.errors import FormatError, LimitExceeded
from explorer.core.limits import DEFAULT_LIMITS, Limits

_WATCHED_KEYS = frozenset(
    {"Layers", "Config", "diff_ids", "mediaType", "manifests", "layers", "config", "digest",
     "rootfs", "size"}
)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out and key in _WATCHED_KEYS:
            raise ValueError(f"duplicate key {key!r}")
        out[key] = value
    return out


def load_json(data: bytes, *, what: str, limits: Limits = DEFAULT_LIMITS) -> Any:
    """Parse ``data`` or raise a FormatError naming ``what`` and the problem."""
    if len(data) > limits.json_hard:
        raise LimitExceeded(
            f"The {what} is {len(data)} bytes, above the {limits.json_hard} byte limit "
            "(json_hard).",
            limit_name="json_hard",
            limit=limits.json_hard,
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise FormatError(f"The {what} is not valid UTF-8 (byte {exc.start}).") from exc
    try:
        return json.loads(text, parse_constant=_reject_constant, object_pairs_hook=_pairs)
    except (ValueError, RecursionError) as exc:
        raise FormatError(f"The {what} is not valid JSON: {exc}.") from exc


def expect_dict(value: Any, *, what: str) -> dict[str, Any]:
    """Raises FormatError naming ``what`` when ``value`` is not a JSON object."""
    if not isinstance(value, dict):
        raise FormatError(f"The {what} must be a JSON object, not {type(value).__name__}.")
    return value


def expect_list(value: Any, *, what: str, allow_null: bool = False) -> list[Any]:
    """Raises FormatError naming ``what`` when ``value`` is not a JSON array."""
    if value is None and allow_null:
        return []
    if not isinstance(value, list):
        raise FormatError(f"The {what} must be a JSON array, not {type(value).__name__}.")
    return value


def opt_str(value: Any, *, what: str) -> str:
    """A string or nothing. Raises FormatError naming ``what`` for another type."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise FormatError(f"The {what} must be a string.")
    return value


def str_list(value: Any, *, what: str) -> tuple[str, ...]:
    """A list of strings or nothing. Raises FormatError naming ``what`` otherwise."""
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise FormatError(f"The {what} must be a list of strings.")
    return tuple(value)


def nonneg_int(value: Any, *, what: str) -> int:
    """A whole number >= 0. Raises FormatError naming ``what`` otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise FormatError(f"The {what} must be a non-negative integer, not {value!r}.")
    return value
