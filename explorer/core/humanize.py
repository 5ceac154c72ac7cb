"""Sizes and numbers printed the way dive (go-humanize, Go's %v) prints them."""

from __future__ import annotations

import math
import re

from explorer.core.errors import ExplorerError

_SI = ("B", "kB", "MB", "GB", "TB", "PB", "EB")


def dive_bytes(n: int) -> str:
    """go-humanize ``Bytes``: base 1000, ``kB``; the unit is chosen before rounding."""
    if n < 10:
        return f"{n} B"
    e = math.floor(math.log(n) / math.log(1000))
    val = math.floor(n / 1000**e * 10 + 0.5) / 10
    return f"{val:.1f} {_SI[e]}" if val < 10 else f"{val:.0f} {_SI[e]}"


_UNITS = {
    "": 1, "b": 1,
    "k": 10**3, "kb": 10**3, "ki": 2**10, "kib": 2**10,
    "m": 10**6, "mb": 10**6, "mi": 2**20, "mib": 2**20,
    "g": 10**9, "gb": 10**9, "gi": 2**30, "gib": 2**30,
    "t": 10**12, "tb": 10**12, "ti": 2**40, "tib": 2**40,
    "p": 10**15, "pb": 10**15, "pi": 2**50, "pib": 2**50,
    "e": 10**18, "eb": 10**18, "ei": 2**60, "eib": 2**60,
}


def parse_bytes(text: str) -> int:
    """go-humanize ``ParseBytes``: ``20MB`` = 20 000 000, ``20MiB`` = 20 971 520.

    Raises ExplorerError.
    """
    m = re.match(r"^([0-9.,]*)(.*)$", text)
    assert m is not None
    number, suffix = m.group(1).replace(",", ""), m.group(2).strip().lower()
    try:
        value = float(number)
    except ValueError:
        raise ExplorerError(f"strconv.ParseFloat: parsing {number!r}: invalid syntax") from None
    if suffix not in _UNITS:
        raise ExplorerError(f"unhandled size name: {suffix}")
    return int(value * _UNITS[suffix])


def go_float(x: float) -> str:
    """Go's ``%v`` for a float64: shortest digits, exponent form below 1e-4 or from 1e6
    (strconv 'g' with shortest precision uses 6 as the exponent threshold)."""
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    if x == 0:
        return "0"
    text = repr(x)
    mantissa, _, exp_text = text.partition("e")
    digits = mantissa.replace("-", "").replace(".", "").lstrip("0")
    exp = int(exp_text) if exp_text else 0
    # decimal exponent of the first significant digit
    if "." in mantissa:
        int_part = mantissa.replace("-", "").split(".")[0]
        if int_part.strip("0"):
            point = len(int_part.lstrip("0"))
        else:
            frac = mantissa.split(".")[1]
            point = -(len(frac) - len(frac.lstrip("0")))
    else:
        point = len(mantissa.replace("-", "").lstrip("0"))
    point += exp
    digits = digits.rstrip("0") or "0"
    sign = "-" if x < 0 else ""
    e10 = point - 1
    if e10 < -4 or e10 >= 6:
        body = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{body}e{'-' if e10 < 0 else '+'}{abs(e10):02d}"
    if point <= 0:
        return f"{sign}0.{'0' * -point}{digits}"
    if point >= len(digits):
        return f"{sign}{digits}{'0' * (point - len(digits))}"
    return f"{sign}{digits[:point]}.{digits[point:]}"


def human_bytes(n: int) -> str:
    """Our own display: the same as dive's so numbers read alike everywhere."""
    return dive_bytes(n)
