"""Nature code -> label evidence: which labels a dispatcher's nature code sets to 1, to 0, or leaves unknown.

The default map (`default_codes.yaml`, package data) covers the APCO ANS 2.103.2 common incident types and common
agency spellings; an agency YAML of the same shape is applied on top (`CodeMap.load(agency_file)`). A code that is
in neither map leaves every label unknown, and the importer counts it as unmapped so that the data scientist sees
it. Every problem in a map file raises `CodeMapError` naming the file, the code and the label.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import yaml

from divert.model.labels import LABELS

UNKNOWN_WORDS = frozenset({"unknown", "unk", "null", "none", "?"})


class CodeMapError(ValueError):
    """A code map file that cannot be used; the message names the file, code and label."""


def normalise_code(code: Any) -> str:
    return " ".join(str(code).split()).upper()


def _value(raw: Any, where: str) -> float:
    """1, 0 or NaN (unknown) from a YAML value."""
    if raw is None or (isinstance(raw, str) and raw.strip().lower() in UNKNOWN_WORDS):
        return math.nan
    if isinstance(raw, bool) or raw not in (0, 1):
        raise CodeMapError(f"{where}: must be 1, 0 or unknown, got {raw!r}")
    return float(raw)


def _labels(raw: Any, where: str) -> dict[str, float]:
    if not isinstance(raw, Mapping):
        raise CodeMapError(f"{where}: expected a mapping of label: 1 | 0 | unknown, got {type(raw).__name__}")
    out: dict[str, float] = {}
    for label, value in raw.items():
        if label not in LABELS:
            raise CodeMapError(f"{where}: '{label}' is not a label (labels: {', '.join(LABELS)})")
        out[str(label)] = _value(value, f"{where}: label '{label}'")
    return out


@dataclass
class CodeMap:
    """{code: {label: 1.0 | 0.0 | nan}}; labels not listed for a code are unknown."""

    codes: dict[str, dict[str, float]] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    no_evidence: set[str] = field(default_factory=set)
    sources: list[str] = field(default_factory=list)

    # ------------------------------------------------------------------------------------- loading

    @classmethod
    def default(cls) -> CodeMap:
        text = resources.files("divert.training.agency").joinpath("default_codes.yaml").read_text(encoding="utf-8")
        out = cls()
        out.apply(yaml.safe_load(text), source="default_codes.yaml")
        return out

    @classmethod
    def load(cls, *overrides: Path | str, use_default: bool = True) -> CodeMap:
        """The default map (unless `use_default=False`) with each agency file applied on top, in order."""
        out = cls.default() if use_default else cls()
        for path in overrides:
            path = Path(path)
            if not path.is_file():
                raise CodeMapError(f"code map not found: {path}")
            try:
                raw = yaml.safe_load(path.read_text(encoding="utf-8"))
            except yaml.YAMLError as exc:
                raise CodeMapError(f"{path}: not valid YAML: {exc}") from exc
            out.apply(raw, source=str(path))
        return out

    def apply(self, raw: Any, *, source: str) -> None:
        """Merge one map document: groups, then single codes (a code's labels replace those set before, label by
        label), then aliases and no-evidence codes."""
        if raw is None:
            raw = {}
        if not isinstance(raw, Mapping):
            raise CodeMapError(f"{source}: the top level must be a mapping with 'groups', 'codes', 'aliases'")
        unknown_keys = set(raw) - {"version", "groups", "codes", "aliases", "no_evidence"}
        if unknown_keys:
            raise CodeMapError(f"{source}: unknown key(s) {sorted(unknown_keys)} (use groups, codes, aliases, "
                               f"no_evidence)")
        seen_in_doc: dict[str, str] = {}
        for name, group in (raw.get("groups") or {}).items():
            where = f"{source}: group '{name}'"
            if not isinstance(group, Mapping) or "codes" not in group or "labels" not in group:
                raise CodeMapError(f"{where}: needs 'labels' and 'codes'")
            labels = _labels(group["labels"], where)
            codes = group["codes"]
            if not isinstance(codes, list):
                raise CodeMapError(f"{where}: 'codes' must be a list")
            for code in codes:
                key = normalise_code(code)
                if key in seen_in_doc:
                    raise CodeMapError(f"{source}: code '{key}' is in group '{seen_in_doc[key]}' and group '{name}'")
                seen_in_doc[key] = str(name)
                self.codes[key] = {**self.codes.get(key, {}), **labels}
        for code, labels_raw in (raw.get("codes") or {}).items():
            key = normalise_code(code)
            labels = _labels(labels_raw or {}, f"{source}: code '{key}'")
            self.codes[key] = {**self.codes.get(key, {}), **labels}
        for alias, target in (raw.get("aliases") or {}).items():
            self.aliases[normalise_code(alias)] = normalise_code(target)
        self.no_evidence |= {normalise_code(c) for c in (raw.get("no_evidence") or [])}
        for alias, target in self.aliases.items():
            if target not in self.codes and target not in self.no_evidence:
                raise CodeMapError(f"{source}: alias '{alias}' points to code '{target}', which is not mapped")
        self.sources.append(source)

    # ------------------------------------------------------------------------------------- lookups

    def resolve(self, code: str | None) -> str | None:
        if code is None:
            return None
        key = normalise_code(code)
        return self.aliases.get(key, key)

    def is_mapped(self, code: str | None) -> bool:
        key = self.resolve(code)
        return key is not None and (key in self.codes or key in self.no_evidence)

    def labels_for(self, code: str | None) -> np.ndarray:
        """(len(LABELS),) float: 1, 0 or NaN per label."""
        out = np.full(len(LABELS), np.nan)
        key = self.resolve(code)
        for label, value in self.codes.get(key or "", {}).items():
            out[LABELS.index(label)] = value
        return out

    def labels_dict(self, code: str | None) -> dict[str, int | None]:
        row = self.labels_for(code)
        return {label: (None if math.isnan(v) else int(v)) for label, v in zip(LABELS, row, strict=True)}

    def says_behavioral_health(self, code: str | None) -> bool:
        return self.labels_dict(code)["behavioral_health"] == 1
