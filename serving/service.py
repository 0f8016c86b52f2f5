"""`ClassificationService`: the one code path from notes to answers, used by the HTTP API and `divert classify`.

parse every note (`parse_note`) and check its context -> predict all of them in one batch -> apply the policy ->
compare with the previous version of the call. Every input problem is raised before any call version is
recorded, so a refused request leaves no trace. The API records the call versions only after the answer has been
written to the audit store (`classify(..., record_calls=False)`, then `record_calls`): an answer refused because
the audit store is down does not advance the call's history either.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from divert.model.eido import DEFAULT_MAX_EIDO_BYTES, EidoError
from divert.model.errors import InvalidInputError, ModelNotLoadedError
from divert.model.inputs import DEFAULT_MAX_CHARS, NoteInput, ParsedNote, parse_note
from divert.model.policy import Policy
from divert.model.pyfunc import LoadedModel
from divert.serving.batching import MicroBatcher
from divert.serving.call_versions import CallVersions
from divert.serving.schemas import InputSummary, LabelScore, NoteResult


def model_version(loaded: LoadedModel) -> str:
    """`name/version` for a registered model; for a local one a fingerprint of its manifest."""
    if loaded.version:
        return f"{loaded.name}/{loaded.version}"
    digest = hashlib.sha256(loaded.model.manifest.model_dump_json().encode()).hexdigest()[:12]
    return f"{loaded.name}@local-{digest}"


@dataclass(frozen=True)
class PendingCall:
    """A call version computed but not yet recorded (see `ClassificationService.record_calls`)."""

    index: int
    call_id: str
    decisions: dict[str, bool]
    primary: str | None
    position: int | None
    elapsed_s: float | None


@dataclass(frozen=True)
class Classification:
    model: LoadedModel
    model_version: str
    policy_version: str
    results: list[NoteResult]
    pending_calls: tuple[PendingCall, ...] = field(default=())
    notes: tuple[ParsedNote, ...] = field(default=())  # what the model read, for the audit record


class ClassificationService:
    batcher: MicroBatcher | None = None  # set by AppState from DIVERT_BATCH_* (serving/batching.py)

    def __init__(self, policy: Policy, *, max_note_chars: int = DEFAULT_MAX_CHARS, max_batch_size: int | None = None,
                 call_versions: CallVersions | None = None, model: LoadedModel | None = None,
                 max_eido_bytes: int = DEFAULT_MAX_EIDO_BYTES) -> None:
        self.policy = policy
        self.max_note_chars = max_note_chars
        self.max_eido_bytes = max_eido_bytes
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
        """Parse and check every note; errors name the field as `notes[i].text` (batch) or `text` (an EIDO's
        error keeps its JSON pointer)."""
        if batch and not notes:
            raise InvalidInputError("empty_batch", "the batch has no notes", field="notes")
        if batch and self.max_batch_size is not None and len(notes) > self.max_batch_size:
            raise InvalidInputError("too_many_notes", f"the batch has {len(notes)} notes; the limit is "
                                    f"{self.max_batch_size}", field="notes")
        parsed = []
        for i, note in enumerate(notes):
            try:
                one = parse_note(note, max_chars=self.max_note_chars, max_eido_bytes=self.max_eido_bytes)
                self.policy.call_time(one.context)
            except InvalidInputError as exc:
                if not batch:
                    raise
                field = f"notes[{i}].{exc.field}" if exc.field else f"notes[{i}]"
                if isinstance(exc, EidoError):  # keeps the JSON pointer of the problem inside the EIDO
                    raise EidoError(exc.code, exc.message, pointer=exc.pointer, field=field) from exc
                raise InvalidInputError(exc.code, exc.message, field=field) from exc
            parsed.append(one)
        return parsed

    def classify(self, notes: Sequence[NoteInput], *, batch: bool = True, namespace: str = "",
                 now: datetime | None = None, record_calls: bool = True) -> Classification:
        """Answer every note. `namespace` separates call ids of different clients; `now` fixes the clock.

        With `record_calls=False` the call versions are not recorded yet: the answer's `call_update` and
        `progress` stay empty until `record_calls(answer, namespace=...)` records them (after the audit write).
        """
        parsed = self.parse(notes, batch=batch)
        loaded = self.model  # one model for the whole request, even if a reload swaps it meanwhile
        texts = [p.text for p in parsed]  # scored with concurrent requests when micro-batching is on
        preds = self.batcher.predict(loaded.model, texts) if self.batcher else loaded.model.predict(texts)
        thresholds = dict(zip(preds.labels, preds.thresholds.tolist(), strict=True))
        results = []
        pending: list[PendingCall] = []
        for i, note in enumerate(parsed):
            labels = {name: LabelScore(**values) for name, values in preds.row(i).items()}
            decisions = {name: ls.decision for name, ls in labels.items()}
            scores = {name: ls.score for name, ls in labels.items()}
            rec = self.policy.recommend(decisions, scores, note.context, thresholds=thresholds, now=now)
            if note.call_id is not None and self.call_versions is not None:
                pending.append(PendingCall(index=i, call_id=note.call_id, decisions=decisions, primary=rec.primary,
                                           position=note.position, elapsed_s=note.elapsed_s))
            results.append(NoteResult(
                index=i, call_id=note.call_id, labels=labels, flags=[n for n, d in decisions.items() if d],
                recommendation=rec,
                input=InputSummary(kind=note.kind, chars=len(note.text), segments_used=note.segments_used,
                                   notes_used=note.notes_used),
            ))
        answer = Classification(model=loaded, model_version=model_version(loaded),
                                policy_version=self.policy.policy_version, results=results,
                                pending_calls=tuple(pending), notes=tuple(parsed))
        return self.record_calls(answer, namespace=namespace) if record_calls else answer

    def record_calls(self, answer: Classification, *, namespace: str = "") -> Classification:
        """Record the call versions of `answer` (in note order) and fill in each result's `call_update` and
        `progress`. Called once per answer, after it has been recorded in the audit store."""
        if self.call_versions is None or not answer.pending_calls:
            return answer
        results = list(answer.results)
        for call in answer.pending_calls:
            update, progress = self.call_versions.track(call.call_id, call.decisions, call.primary,
                                                        namespace=namespace, position=call.position,
                                                        elapsed_s=call.elapsed_s)
            results[call.index] = results[call.index].model_copy(update={"call_update": update,
                                                                         "progress": progress})
        return replace(answer, results=results, pending_calls=())
