"""The model registry gate: floors decide who becomes `challenger`; `promote` decides who becomes `champion`.

MLflow 3 aliases (not stages). Every promotion decision is written on the model version as tags, so the
registry itself tells who promoted what, when, why, and whether it was forced.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime

import mlflow
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

CHAMPION = "champion"
CHALLENGER = "challenger"


class PromotionError(RuntimeError):
    """Promotion refused or impossible; the message says why."""


@dataclass
class GateDecision:
    passed: bool
    reasons: list[str] = field(default_factory=list)


def check_floors(metrics: dict[str, float], floors: dict[str, float]) -> GateDecision:
    reasons = []
    for name, floor in sorted(floors.items()):
        value = metrics.get(name)
        if value is None or (isinstance(value, float) and math.isnan(value)):
            reasons.append(f"{name} missing (floor {floor})")
        elif value < floor:
            reasons.append(f"{name} {value:.4f} < floor {floor}")
    return GateDecision(passed=not reasons, reasons=reasons or ["all floors met"])


def _alias_version(client: MlflowClient, name: str, alias: str) -> str | None:
    try:
        return str(client.get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def champion_version(name: str) -> str | None:
    return _alias_version(MlflowClient(), name, CHAMPION)


def register_challenger(model_uri: str, name: str) -> str:
    """Register the logged model and point `challenger` at it. If interrupted half way, nothing stays behind."""
    client = MlflowClient()
    version: str | None = None
    try:
        mv = mlflow.register_model(model_uri, name)
        version = str(mv.version)
        client.set_registered_model_alias(name, CHALLENGER, version)
    except BaseException:
        if version is not None:
            client.delete_model_version(name, version)
        raise
    return version


def _version_metrics(client: MlflowClient, name: str, version: str) -> dict[str, float]:
    mv = client.get_model_version(name, version)
    if not mv.run_id:
        return {}
    return dict(client.get_run(mv.run_id).data.metrics)


@dataclass
class PromotionResult:
    promoted: bool
    version: str
    previous: str | None
    reasons: list[str]


def compare(candidate: dict[str, float], champion: dict[str, float], on: list[str],
            min_improvement: float) -> tuple[bool, list[str]]:
    """The candidate wins if it is no worse on every gate metric and better on their mean by min_improvement."""
    reasons, deltas = [], []
    for metric in on:
        c, k = candidate.get(metric), champion.get(metric)
        if c is None or k is None:
            reasons.append(f"{metric}: missing ({c} vs {k})")
            return False, reasons
        deltas.append(c - k)
        reasons.append(f"{metric}: {c:.4f} vs champion {k:.4f} ({c - k:+.4f})")
    mean_gain = sum(deltas) / len(deltas) if deltas else 0.0
    wins = all(d >= 0 for d in deltas) and mean_gain > min_improvement
    return wins, reasons


def promote(name: str, *, version: str | None = None, compare_on: list[str], min_improvement: float = 0.0,
            force: bool = False, reason: str | None = None) -> PromotionResult:
    client = MlflowClient()
    version = version or _alias_version(client, name, CHALLENGER)
    if version is None:
        raise PromotionError(f"no version given and registered model {name!r} has no '{CHALLENGER}' alias")
    try:
        client.get_model_version(name, version)
    except MlflowException as exc:
        raise PromotionError(f"{name} version {version} does not exist") from exc
    previous = _alias_version(client, name, CHAMPION)
    if previous == version:
        return PromotionResult(False, version, previous, [f"version {version} is already {CHAMPION}"])
    if previous is None:
        wins, reasons = True, ["no current champion"]
    else:
        wins, reasons = compare(_version_metrics(client, name, version), _version_metrics(client, name, previous),
                                compare_on, min_improvement)
    if not wins and not force:
        return PromotionResult(False, version, previous, ["refused: does not beat the champion", *reasons])
    if not wins and force and not reason:
        raise PromotionError("--force needs a --reason, which is logged on the model version")
    client.set_registered_model_alias(name, CHAMPION, version)
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    client.set_model_version_tag(name, version, "promoted_at", stamp)
    client.set_model_version_tag(name, version, "promotion_forced", str(bool(force and not wins)).lower())
    client.set_model_version_tag(name, version, "promotion_reason", reason or "; ".join(reasons))
    if previous:
        client.set_model_version_tag(name, previous, "replaced_by", version)
    return PromotionResult(True, version, previous, reasons)
