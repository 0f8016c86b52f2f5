"""EIDO incidents written from the standard (NENA-STA-021.1b) for the tests: several notes, repeated snapshots,
HTML in notes. Times carry their UTC offset, as the schema's `date-time` requires."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import jsonschema
import yaml

FIXTURES = Path(__file__).parent / "fixtures" / "eido"
AGENCY = "psap.example.gov"


def prologue(component_id: str, stamp: str) -> dict[str, Any]:
    return {"$id": component_id, "lastUpdateTimeStamp": stamp, "updatedByAgencyReference": {"$ref": AGENCY}}


def note(n: int, stamp: str, comments: str) -> dict[str, Any]:
    return {**prologue(f"urn:emergency:uid:eidodatacomponent:note{n:03d}:{AGENCY}", stamp),
            "updatedByAgentReference": {"$ref": f"ct12@{AGENCY}"}, "agentReference": {"$ref": f"ct12@{AGENCY}"},
            "notesActionComments": comments}


def eido(notes: list[dict[str, Any]], *, incident_id: str = "2025-000123", nature: str = "MNTL",
         internal_code: str | None = "PSYCH", call_start: str = "2025-01-15T10:30:02-05:00") -> dict[str, Any]:
    """A whole EIDO (the full current state of one incident) holding `notes`."""
    refs = [{"$ref": n["$id"]} for n in notes if "$id" in n]
    incident: dict[str, Any] = {
        **prologue(f"urn:emergency:uid:eidodatacomponent:inc001:{AGENCY}", "2025-01-15T10:32:10-05:00"),
        "incidentTypeCommonRegistryText": nature, "incidentStatusCommonRegistryText": ["Active"],
        "internalIncidentId": incident_id, "notesReference": refs}
    if internal_code is not None:
        incident["incidentTypeInternalCode"] = internal_code
    return {
        **prologue(f"urn:emergency:uid:incidentid:0001abc:{AGENCY}", "2025-01-15T10:32:10-05:00"),
        "eidoVersion": "1.0",
        "issuingElementIdentification": f"cad.{AGENCY}",
        "incidentComponent": incident,
        "callComponent": [{**prologue(f"urn:emergency:uid:callid:0001abc:{AGENCY}", "2025-01-15T10:31:00-05:00"),
                           "standardPrimaryCallType": "emergency", "direction": "incoming",
                           "callStartTimestamp": call_start, "callStateRegistryText": "callAnswered",
                           "notesReference": refs}],
        "notesComponent": notes,
        "agencyComponent": [{**prologue(AGENCY, "2025-01-15T10:30:00-05:00"),
                             "agencyRoleDescriptionRegistryText": ["CallReceiving"], "agencyType": ["psap"]}],
        "agentComponent": [{**prologue(f"ct12@{AGENCY}", "2025-01-15T10:30:00-05:00"),
                            "agentRoleRegistryText": ["Call Taking"], "agencyReference": {"$ref": AGENCY}}],
    }


# Three notes, out of order, one repeated (the same $id and time, as when a sender merges snapshots), with HTML,
# entities and a script that must never reach the model.
NOTE_1 = note(1, "2025-01-15T10:31:10-05:00", "<p>RP ADV BROTHER OFF HIS MEDS</p>")
NOTE_2 = note(2, "2025-01-15T10:31:45-05:00",
              "<div>SUBJ STATING HE WANTS TO <b>KILL HIMSELF</b> &amp; HAS A KNIFE<script>alert('x');"
              "document.write('IGNORE ME')</script></div>")
NOTE_3 = note(3, "2025-01-15T10:32:05-05:00",
              "<ul><li>NO OTHER WPNS</li><li>RP &lt;SISTER&gt; ON SCENE</li></ul><style>p{color:red}</style>")


def several_notes_eido() -> dict[str, Any]:
    return eido([NOTE_3, NOTE_1, NOTE_2, copy.deepcopy(NOTE_1)])


def example_with_notes() -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / "example-with-notes.json").read_text())
    return data


def load_schema() -> dict[str, Any]:
    """NENA's published EIDO schema (`openapi.yaml`, a copy in tests/fixtures/eido)."""
    doc: dict[str, Any] = yaml.safe_load((FIXTURES / "openapi.yaml").read_text())
    return doc


def required_members(doc: dict[str, Any], name: str) -> set[str]:
    """Every member the schema requires of component `name`, through its `allOf` and `$ref`s."""
    schema = doc["components"]["schemas"][name]
    out = set(schema.get("required", []))
    for part in schema.get("allOf", []):
        if "$ref" in part:
            out |= required_members(doc, part["$ref"].rsplit("/", 1)[-1])
        out |= set(part.get("required", []))
    return out


def validate_component(doc: dict[str, Any], name: str, instance: dict[str, Any]) -> None:
    """Validate `instance` against the schema's component `name` (raises jsonschema.ValidationError)."""
    schema = {"$ref": f"#/components/schemas/{name}", "components": doc["components"]}
    jsonschema.Draft202012Validator(schema).validate(instance)
