"""`ClassificationService`: the one code path from notes to answers, used by the HTTP API and `divert classify`.

parse every note (`parse_note`) and check its context -> predict all of them in one batch -> apply the policy ->
compare with the previous version of the call. Every input problem is raised before any call version is
recorded, so a refused request leaves no trace.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from divert.model.errors import InvalidInputError, ModelNotLoadedError
from divert.model.inputs import DEFAULT_MAX_CHARS, NoteInput, ParsedNote, parse_note
from divert.model.policy import Policy
from divert.model.pyfunc import LoadedModel
from divert.serving.call_versions import CallVersions
from divert.serving.schemas import InputSummary, LabelScore, NoteResult


def model_version(loaded: LoadedModel) -> str:
    """`name/version` for a registered model; for a local one a fingerprint of its manifest."""
    if loaded.version:
        return f"{loaded.name}/{loaded.version}"
    digest = hashlib.sha256(loaded.model.manifest.model_dump_json().encode()).hexdigest()[:12]
    return f"{loaded.name}@local-{digest}"


@dataclass(frozen=True)
class Classification:
    model: LoadedModel
    model_version: str
    policy_version: str
    results: list[NoteResult]


class ClassificationService:
    def __init__(self, policy: Policy, *, max_note_chars: int = DEFAULT_MAX_CHARS, max_batch_size: int | None = None,
                 call_versions: CallVersions | None = None, model: LoadedModel | None = None) -> None:
        self.policy = policy
        self.max_note_chars = max_note_chars
        self.max_batch_size = max_batch_size
        self.call_versions = call_versions
        self._model = model

    @property
    def ready(self) -> bool:
        return self._model is not None

    @property
    def model(self) -> LoadedModel:
        loaded = self._model
        if loaded is None:
            raise ModelNotLoadedError("the model is not loaded yet; retry when /readyz answers 200")
        return loaded

    def swap_model(self, loaded: LoadedModel) -> LoadedModel | None:
        """Serve `loaded` from now on (one reference assignment); returns the model it replaces."""
        previous, self._model = self._model, loaded
        return previous

    def parse(self, notes: Sequence[NoteInput], *, batch: bool = True) -> list[ParsedNote]:
        """Parse and check every note; errors name the field as `notes[i].text` (batch) or `text`."""
        if batch and not notes:
            raise InvalidInputError("empty_batch", "the batch has no notes", field="notes")
        if batch and self.max_batch_size is not None and len(notes) > self.max_batch_size:
            raise InvalidInputError("too_many_notes", f"the batch has {len(notes)} notes; the limit is "
                                    f"{self.max_batch_size}", field="notes")
        parsed = []
        for i, note in enumerate(notes):
            try:
                one = parse_note(note, max_chars=self.max_note_chars)
                self.policy.call_time(one.context)
            except InvalidInputError as exc:
                if not batch:
                    raise
                field = f"notes[{i}].{exc.field}" if exc.field else f"notes[{i}]"
                raise InvalidInputError(exc.code, exc.message, field=field) from exc
            parsed.append(one)
        return parsed

    def classify(self, notes: Sequence[NoteInput], *, batch: bool = True, namespace: str = "",
                 now: datetime | None = None) -> Classification:
        """Answer every note. `namespace` separates call ids of different clients; `now` fixes the clock."""
        parsed = self.parse(notes, batch=batch)
        loaded = self.model  # one model for the whole request, even if a reload swaps it meanwhile
        preds = loaded.model.predict([p.text for p in parsed])
        thresholds = dict(zip(preds.labels, preds.thresholds.tolist(), strict=True))
        results = []
        for i, note in enumerate(parsed):
            labels = {name: LabelScore(**values) for name, values in preds.row(i).items()}
            decisions = {name: ls.decision for name, ls in labels.items()}
            scores = {name: ls.score for name, ls in labels.items()}
            rec = self.policy.recommend(decisions, scores, note.context, thresholds=thresholds, now=now)
            update = None
            if note.call_id is not None and self.call_versions is not None:
                update = self.call_versions.update(note.call_id, decisions, rec.primary, namespace=namespace)
            results.append(NoteResult(
                index=i, call_id=note.call_id, labels=labels, flags=[n for n, d in decisions.items() if d],
                recommendation=rec, call_update=update,
                input=InputSummary(kind=note.kind, chars=len(note.text), segments_used=note.segments_used),
            ))
        return Classification(model=loaded, model_version=model_version(loaded),
                              policy_version=self.policy.policy_version, results=results)
