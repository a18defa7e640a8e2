"""JSON Schema of the envelope and of every payload, as files under docs/schemas.

Generation is pure and deterministic (sorted keys, two-space indent, a final
newline), so the checked-in files can be compared byte for byte.
"""

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from shared.events.envelope import Envelope
from shared.events.registry import INBOUND, PUBLISHED, EventKind

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
INBOUND_PREFIX = "inbound."
REGENERATE = "overdue contracts schemas"


def schema_file_name(kind: EventKind) -> str:
    """`invoice.issued.json`; facts for `ledger.inbound` get `inbound.` in front."""
    prefix = INBOUND_PREFIX if kind in INBOUND else ""
    return f"{prefix}{kind.type}.json"


def render(schema: Mapping[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _schema(model: type[BaseModel], description: str) -> dict[str, Any]:
    schema = model.model_json_schema(mode="serialization", by_alias=True)
    schema["$schema"] = JSON_SCHEMA_DIALECT
    schema["$comment"] = description
    return schema


def generate_schemas() -> dict[str, str]:
    """File name to file text, for the envelope and every event type."""
    files = {
        "envelope.json": render(
            _schema(Envelope, "The envelope of every message on every topic.")
        )
    }
    for kind in (*PUBLISHED, *INBOUND):
        note = (
            f"`data` of {kind.type} on {kind.topic.name}, written by {kind.producer}."
        )
        files[schema_file_name(kind)] = render(_schema(kind.model, note))
    return files


def differing_files(directory: Path, expected: Mapping[str, str]) -> dict[str, str]:
    """Each file of `directory` that is not as generated, with what is wrong with it."""
    present = {path.name for path in directory.glob("*.json")}
    differing = {name: "not generated any more" for name in present - expected.keys()}
    for name, text in expected.items():
        if name not in present:
            differing[name] = "missing"
        elif (directory / name).read_text(encoding="utf-8") != text:
            differing[name] = "differs"
    return dict(sorted(differing.items()))
