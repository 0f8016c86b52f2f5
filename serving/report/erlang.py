"""Erlang C: how many crisis teams keep the wait for a team short enough.

The standard staffing model of call centres and dispatch (an M/M/N queue): calls arrive at random (Poisson) at
rate λ per hour, each takes a team `aht` minutes on average (exponential), `N` teams work in parallel and a call
that finds every team busy waits. With offered load A = λ·aht/60 (erlangs) and N > A:

    P(wait > 0)  = C(N, A) = B / (1 - (A/N)(1 - B)),   B = Erlang B = (A^N/N!) / Σ_{k=0..N} A^k/k!
    P(wait ≤ T)  = 1 - C(N, A) · exp(-(N - A) · T / aht)

Erlang B is taken from the Poisson distribution (`scipy.stats.poisson`: B = pmf(N; A) / cdf(N; A)), which is
exact and stays finite for large N. With N ≤ A the queue grows without bound: P(wait ≤ T) is 0.
"""

from __future__ import annotations

import math

from scipy.stats import poisson

MAX_TEAMS = 10_000


def offered_load(calls_per_hour: float, minutes_per_call: float) -> float:
    """Erlangs: the average number of teams busy if there were always one free."""
    return calls_per_hour * minutes_per_call / 60.0


def erlang_b(teams: int, load: float) -> float:
    if teams < 0 or load < 0:
        raise ValueError("teams and load must not be negative")
    if load == 0:
        return 0.0
    return float(poisson.pmf(teams, load) / poisson.cdf(teams, load))


def erlang_c(teams: int, load: float) -> float:
    """P(a call waits at all) with `teams` teams and `load` erlangs; 1.0 when the teams cannot keep up."""
    if load == 0:
        return 0.0
    if teams <= load:
        return 1.0
    b = erlang_b(teams, load)
    rho = load / teams
    return b / (1 - rho * (1 - b))


def service_level(teams: int, calls_per_hour: float, minutes_per_call: float, target_wait_minutes: float) -> float:
    """P(a call waits at most `target_wait_minutes` for a team)."""
    load = offered_load(calls_per_hour, minutes_per_call)
    if load == 0:
        return 1.0
    if teams <= load:
        return 0.0
    c = erlang_c(teams, load)
    return 1 - c * math.exp(-(teams - load) * target_wait_minutes / minutes_per_call)


def teams_needed(calls_per_hour: float, minutes_per_call: float, target_wait_minutes: float,
                 target_probability: float) -> int:
    """The fewest teams with P(wait ≤ T) ≥ target_probability (0 when no calls arrive)."""
    if not 0 < target_probability < 1:
        raise ValueError("target_probability must be between 0 and 1")
    if calls_per_hour <= 0:
        return 0
    load = offered_load(calls_per_hour, minutes_per_call)
    teams = max(1, math.floor(load) + 1)
    while service_level(teams, calls_per_hour, minutes_per_call, target_wait_minutes) < target_probability:
        teams += 1
        if teams > MAX_TEAMS:  # pragma: no cover - a load no county has
            raise ValueError(f"more than {MAX_TEAMS} teams needed for {calls_per_hour} calls per hour")
    return teams
