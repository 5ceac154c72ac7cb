"""dive's CI rules (``runtime/ci``): same keys, defaults, parsing, comparisons and report.

Values are strings as dive reads them; only the exact string ``disabled`` turns a rule off;
comparisons are strict (a value equal to the threshold passes); ratios, not percents.
"""

from __future__ import annotations

import enum
import math
import os
from dataclasses import dataclass, field
from typing import Any

from explorer.core.analysis.efficiency import Efficiency
from explorer.core.errors import ExplorerError, FormatError
from explorer.core.humanize import dive_bytes, go_float, parse_bytes

RULE_KEYS = ("lowestEfficiency", "highestWastedBytes", "highestUserWastedPercent")
DEFAULTS = {"lowestEfficiency": "0.9", "highestWastedBytes": "disabled",
            "highestUserWastedPercent": "0.1"}


class Status(enum.Enum):
    PASS = "PASS"
    FAIL = "FAIL"
    SKIP = "SKIP"
    MISCONFIGURED = "MISCONFIGURED"
    CONFIGURED = "CONFIGURED   "


@dataclass
class RuleResult:
    """One rule's verdict, worded as dive prints it."""

    key: str
    status: Status
    message: str = ""


@dataclass
class CiResult:
    """Every rule's verdict on one image, and what the report prints with them."""

    results: list[RuleResult]
    misconfigured: bool
    config_line: str
    inefficient: list[tuple[int, int, str]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.misconfigured and all(
            r.status in (Status.PASS, Status.SKIP) for r in self.results
        )

    @property
    def exit_code(self) -> int:
        return 0 if self.passed else 1


def _yaml_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def load_rules(
    config_path: str = ".dive-ci", overrides: dict[str, str] | None = None
) -> tuple[dict[str, str], str]:
    """Rule strings: explicit flags, then the YAML file's ``rules:``, then dive's defaults.

    Raises FormatError (an unreadable or invalid .dive-ci file).
    """
    rules = dict(DEFAULTS)
    line = "  Using default CI config"
    if os.path.exists(config_path):
        line = f"  Using CI config: {config_path}"
        import yaml  # only when a .dive-ci file exists: it costs 25 ms at start-up

        try:
            with open(config_path, "rb") as fh:
                doc = yaml.safe_load(fh.read(1 << 20)) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise FormatError(f"Cannot read CI config {config_path}: {exc}") from exc
        section = doc.get("rules") if isinstance(doc, dict) else None
        if isinstance(section, dict):
            lowered = {str(k).lower(): v for k, v in section.items()}
            for key in RULE_KEYS:
                if key.lower() in lowered and lowered[key.lower()] is not None:
                    rules[key] = _yaml_str(lowered[key.lower()])
    for key, value in (overrides or {}).items():
        rules[key] = value
    return rules, line


def _parse_ratio(key: str, value: str) -> float:
    try:
        x = float(value)
        if value.strip().lower() in ("nan", "inf", "+inf", "-inf", "infinity"):
            raise ValueError
    except ValueError:
        raise ExplorerError(
            f"invalid config value ('{value}'): strconv.ParseFloat: parsing \"{value}\": "
            "invalid syntax"
        ) from None
    if x < 0 or x > 1:
        raise ExplorerError(f"{key} config value is outside allowed range (0-1), given '{value}'")
    return x


def _validate(key: str, value: str) -> float | int:
    if key == "highestWastedBytes":
        try:
            return parse_bytes(value)
        except ExplorerError as exc:
            raise ExplorerError(f"invalid config value ('{value}'): {exc}") from None
    return _parse_ratio(key, value)


def evaluate(eff: Efficiency, rules: dict[str, str], config_line: str = "") -> CiResult:
    results: dict[str, RuleResult] = {}
    parsed: dict[str, float | int] = {}
    ok = True
    for key in RULE_KEYS:
        value = rules[key]
        if value == "disabled":
            continue
        try:
            parsed[key] = _validate(key, value)
            results[key] = RuleResult(key, Status.CONFIGURED, "test")
        except ExplorerError as exc:
            results[key] = RuleResult(key, Status.MISCONFIGURED, exc.message)
            ok = False
    if not ok:
        for key in RULE_KEYS:
            if rules[key] == "disabled":
                results[key] = RuleResult(key, Status.SKIP, "rule disabled")
        return CiResult(sorted(results.values(), key=lambda r: r.key), True, config_line)
    for key in RULE_KEYS:
        if key not in parsed:
            results[key] = RuleResult(key, Status.SKIP, "rule disabled")
            continue
        threshold = parsed[key]
        if key == "lowestEfficiency" and threshold > eff.score:
            results[key] = RuleResult(key, Status.FAIL, (
                f"image efficiency is too low (efficiency={go_float(eff.score)} < "
                f"threshold={go_float(float(threshold))})"))
        elif key == "highestWastedBytes" and eff.wasted > threshold:
            results[key] = RuleResult(key, Status.FAIL, (
                f"too many bytes wasted (wasted-bytes={eff.wasted} > threshold={threshold})"))
        elif key == "highestUserWastedPercent" and (
            not math.isnan(eff.user_wasted_ratio) and threshold < eff.user_wasted_ratio
        ):
            results[key] = RuleResult(key, Status.FAIL, (
                "too many bytes wasted, relative to the user bytes added "
                f"(%-user-wasted-bytes={go_float(eff.user_wasted_ratio)} > "
                f"threshold={go_float(float(threshold))})"))
        else:
            results[key] = RuleResult(key, Status.PASS)
    inefficient = [(u.count, u.size, u.path.decode("utf-8", "replace")) for u in eff.inefficient]
    return CiResult(sorted(results.values(), key=lambda r: r.key), False, config_line,
                    inefficient)


def _pct(x: float) -> str:
    if math.isnan(x):
        return "NaN"
    if math.isinf(x):
        return "+Inf" if x > 0 else "-Inf"
    return f"{x * 100:.4f}"


def render_report(eff: Efficiency, ci: CiResult, *, color: bool = False) -> str:
    """The lines dive prints after "Analyzing image..."."""
    def paint(text: str, codes: str) -> str:
        return f"\x1b[{codes}m{text}\x1b[0m" if color else text

    out = [
        f"  efficiency: {_pct(eff.score)} %",
        f"  wastedBytes: {eff.wasted} bytes ({dive_bytes(eff.wasted)})",
        f"  userWastedPercent: {_pct(eff.user_wasted_ratio)} %",
        paint("Inefficient Files:", "1"),
        f"{'Count':>5}  {'Wasted Space':>12}  File Path",
    ]
    if not ci.inefficient:
        out.append("None")
    for count, size, path in ci.inefficient:
        out.append(f"{count!s:>5}  {dive_bytes(size):>12}  {path}")
    out.append(paint("Results:", "1"))
    for r in ci.results:
        status = r.status.value
        if r.status in (Status.FAIL, Status.MISCONFIGURED):
            status = paint(status, "1;7;31")
        elif r.status is Status.SKIP:
            status = paint(status, "34")
        out.append(f"  {status}: {r.key}: {r.message}" if r.message else f"  {status}: {r.key}")
    if ci.misconfigured:
        out.append(paint("CI Misconfigured", "31"))
    else:
        counts = {s: sum(1 for r in ci.results if r.status is s) for s in Status}
        word = "PASS" if ci.passed else "FAIL"
        out.append(paint(
            f"Result:{word} [Total:{len(ci.results)}] [Passed:{counts[Status.PASS]}] "
            f"[Failed:{counts[Status.FAIL]}] [Warn:0] [Skipped:{counts[Status.SKIP]}]",
            "32" if ci.passed else "31"))
    return "\n".join(out) + "\n"
