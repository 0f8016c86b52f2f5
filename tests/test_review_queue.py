"""The review queue's ranking (`divert.serving.audit.queue`): uncertainty, disagreement, diversity, outside boost."""

from __future__ import annotations

from divert.serving.audit.queue import Candidate, rank, review_boost

THRESHOLDS = {"behavioral_health": 0.5, "violence_risk": 0.5}


def candidate(i: int, score: float, detail: dict[str, object] | None = None) -> Candidate:
    return Candidate(id=i, group=f"g{i}", scores={"behavioral_health": score, "violence_risk": 0.02},
                     thresholds=THRESHOLDS, boost=review_boost(detail))


def test_imported_label_errors_come_first_in_their_rank_order() -> None:
    served = [candidate(1, 0.50), candidate(2, 0.45), candidate(3, 0.98)]
    imported = [candidate(10 + r, 0.99, {"source": "agency_import", "review_rank": r}) for r in (3, 1, 2)]
    order = [r.id for r in rank(served + imported, limit=6)]
    assert order == [11, 12, 13, 1, 2, 3]
    first = rank(served + imported, limit=1)[0]
    assert first.terms["boost"] == 2.0


def test_only_agency_imports_are_boosted() -> None:
    assert review_boost(None) == 0.0
    assert review_boost({"rule": "behavioral_health"}) == 0.0
    assert review_boost({"source": "agency_import", "review_rank": "not a number"}) == 0.0
    assert 1.0 < review_boost({"source": "agency_import", "review_rank": 500}) < 2.0
