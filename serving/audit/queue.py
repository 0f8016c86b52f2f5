"""The review queue: which unreviewed predictions teach the model most when an auditor labels them.

Each candidate gets
- `uncertainty` in [0, 1]: how close its closest label is to that label's threshold (1: on the threshold,
  0: as far as it can be), scaled per label by the room on that side of the threshold;
- `disagreement` in [0, 1]: the largest score difference between the serving model and a second model (the
  `review_second_model_ref` setting, e.g. a TF-IDF model) on the stored (redacted) text, plus 0.5 when the two
  models decide differently on a label (capped at 1). Without a second model the term is skipped (None) and the
  queue says so;
- `boost` >= 0: an outside priority recorded with the item. Rows an agency import ranked as likely label
  errors (`divert data label-errors --audit-url`) carry `{"source": "agency_import", "review_rank": r}`
  and get `review_boost(r)` in (1, 2], so they come before every prediction the service made itself, best first;
- priority = uncertainty + disagreement + boost.
Then a greedy pick for diversity: each time a call (client key + call id, or the text hash for notes without one)
has an item picked, its remaining items' priority is multiplied by `group_decay`, so 10 versions of one call do
not fill the top of the queue.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

DEFAULT_GROUP_DECAY = 0.25
IMPORT_RANKS = 10_000  # review ranks of imported rows are spread over (1, 2] across this many positions
NO_SECOND_MODEL = ("no second model configured (review_second_model_ref): the disagreement term is skipped; "
                   "the queue ranks by uncertainty and diversity only")


@dataclass(frozen=True)
class Candidate:
    id: int
    group: str
    scores: Mapping[str, float]
    thresholds: Mapping[str, float]
    second_scores: Mapping[str, float] | None = None
    second_thresholds: Mapping[str, float] | None = None
    boost: float = 0.0


@dataclass
class Ranked:
    id: int
    group: str
    priority: float
    uncertainty: float
    uncertain_label: str | None
    disagreement: float | None
    disagreeing_label: str | None
    terms: dict[str, Any] = field(default_factory=dict)


def review_boost(detail: Mapping[str, Any] | None, *, ranks: int = IMPORT_RANKS) -> float:
    """The outside priority of an item: 2 for the first row an import ranked, falling towards 1; 0 otherwise."""
    if not detail or detail.get("source") != "agency_import":
        return 0.0
    try:
        position = int(detail["review_rank"])
    except (KeyError, TypeError, ValueError):
        return 0.0
    return 1.0 + max(0.0, 1.0 - (position - 1) / ranks)


def uncertainty(scores: Mapping[str, float], thresholds: Mapping[str, float]) -> tuple[float, str | None]:
    best, best_label = 0.0, None
    for name, score in scores.items():
        t = float(thresholds.get(name, 0.5))
        room = t if score < t else 1.0 - t
        value = 1.0 - min(abs(score - t) / room, 1.0) if room > 0 else 0.0
        if value > best or best_label is None:
            best, best_label = value, name
    return best, best_label


def disagreement(c: Candidate) -> tuple[float | None, str | None]:
    if c.second_scores is None:
        return None, None
    best, best_label = 0.0, None
    for name, score in c.scores.items():
        if name not in c.second_scores:
            continue
        other = float(c.second_scores[name])
        value = abs(score - other)
        t1 = float(c.thresholds.get(name, 0.5))
        t2 = float((c.second_thresholds or {}).get(name, 0.5))
        if (score >= t1) != (other >= t2):
            value += 0.5
        value = min(value, 1.0)
        if value > best or best_label is None:
            best, best_label = value, name
    return best, best_label


def rank(candidates: Sequence[Candidate], *, limit: int = 20,
         group_decay: float = DEFAULT_GROUP_DECAY) -> list[Ranked]:
    """The `limit` candidates to review first, in order."""
    scored: list[Ranked] = []
    for c in candidates:
        u, u_label = uncertainty(c.scores, c.thresholds)
        d, d_label = disagreement(c)
        scored.append(Ranked(id=c.id, group=c.group, priority=u + (d or 0.0) + c.boost, uncertainty=u,
                             uncertain_label=u_label, disagreement=d, disagreeing_label=d_label,
                             terms={"boost": c.boost} if c.boost else {}))
    picked: list[Ranked] = []
    taken: dict[str, int] = {}
    remaining = scored
    while remaining and len(picked) < limit:
        best_i = max(range(len(remaining)),
                     key=lambda i: (remaining[i].priority * group_decay ** taken.get(remaining[i].group, 0),
                                    remaining[i].id))
        item = remaining.pop(best_i)
        repeats = taken.get(item.group, 0)
        item.terms = {**item.terms, "base_priority": item.priority, "diversity_factor": group_decay ** repeats}
        item.priority *= group_decay ** repeats
        taken[item.group] = repeats + 1
        picked.append(item)
    return picked
