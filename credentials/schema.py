"""Validate credentials against the JSON Schemas 1EdTech publishes, with ``jsonschema``.

* Open Badges credentials (``OpenBadgeCredential`` / ``AchievementCredential``): the OB 3.0
  ``AchievementCredential`` schema (draft 2019-09).
* ``ClrCredential``: the CLR 2.0 schema (draft-04 conversion). It predates VC 2.0, so two of
  its rules are set aside, every other error counts:

  - ``issuanceDate`` is required (on the CLR and on each embedded credential); VC 2.0
    credentials carry ``validFrom`` instead.
  - ``credentialStatus`` may hold only ``id`` and ``type`` (the 1EdTech Revocation List form),
    so no Bitstring Status List entry can pass. nbcred's own CLRs embed copies carrying the
    revocation list (``credentials.revocationlist``) and meet this rule; for CLRs from elsewhere,
    that error is set aside inside embedded credentials, and the OB 3.0 schema, which admits
    those entries, is applied to every embedded credential on its own (``credentials.verify``).
* Anything else (e.g. a ``BitstringStatusListCredential``): no published schema applies.

VC 2.0 allows one or several of ``proof`` and ``credentialStatus``; the OB 3.0 schema writes
``proof`` only as an array and ``credentialStatus`` only as one object. So a single ``proof``
object is checked as a one-proof set, and a list of status entries is checked entry by entry
(the document is validated once with each entry in place). Credentials nbcred signed before it
wrote proof sets carry both older forms.

:func:`check_schema` returns ``"ok"``, ``"none"`` or ``"failed: <where>: <what>"``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from jsonschema import Draft4Validator, Draft201909Validator
from jsonschema.exceptions import ValidationError
from jsonschema.protocols import Validator

from credentials.errors import SchemaError

OB_SCHEMA_FILE = "ob_v3p0_achievementcredential_schema.json"
CLR_SCHEMA_FILE = "clr_v2p0_clrcredential_schema_draft4.json"
OB_TYPES = ("OpenBadgeCredential", "AchievementCredential")
CLR_TYPE = "ClrCredential"
MAX_REPORTED = 3


@dataclass(frozen=True)
class SchemaCheck:
    """Which schema applied (``None``: none did) and the problems found, in plain words."""

    schema: str | None
    problems: tuple[str, ...]

    @property
    def summary(self) -> str:
        """``ok``, ``none`` or ``failed: ...`` (the first few problems)."""
        if self.schema is None:
            return "none"
        if not self.problems:
            return "ok"
        shown = "; ".join(self.problems[:MAX_REPORTED])
        more = len(self.problems) - MAX_REPORTED
        suffix = f" (and {more} more)" if more > 0 else ""
        return f"failed: does not match the {self.schema} schema: {shown}{suffix}"


def load_schema(name: str) -> dict[str, Any]:
    """A bundled schema by file name."""
    try:
        text = resources.files("credentials.schemas").joinpath(name).read_text(encoding="utf-8")
    except (FileNotFoundError, OSError) as exc:
        raise SchemaError(f"bundled schema {name} is missing; reinstall nbcred") from exc
    document = json.loads(text)
    if not isinstance(document, dict):
        raise SchemaError(f"bundled schema {name} is not a JSON object")
    return document


@cache
def _validator(name: str) -> Validator:
    schema = load_schema(name)
    cls = Draft4Validator if "draft-04" in str(schema.get("$schema", "")) else Draft201909Validator
    cls.check_schema(schema)
    return cls(schema)


def _types(document: dict[str, Any]) -> list[str]:
    value = document.get("type")
    if isinstance(value, str):
        return [value]
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def schema_for(document: dict[str, Any]) -> tuple[str, str] | None:
    """(label, file) of the published schema that applies to ``document``, if any."""
    types = _types(document)
    if CLR_TYPE in types:
        return "CLR 2.0 ClrCredential", CLR_SCHEMA_FILE
    if any(t in OB_TYPES for t in types):
        return "Open Badges 3.0 AchievementCredential", OB_SCHEMA_FILE
    return None


def _leaves(error: ValidationError) -> Iterator[ValidationError]:
    """The most specific errors (a oneOf/anyOf failure is explained by its sub-errors)."""
    if error.context:
        best = min(error.context, key=lambda e: len(list(e.context or [])))
        yield from _leaves(best) if best.context else [best]
    else:
        yield error


def _where(error: ValidationError) -> str:
    parts = [f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path]
    return ("credential" + "".join(parts)) if parts else "credential"


def clr_set_aside(error: ValidationError) -> bool:
    """The two CLR 2.0 (draft-04) rules that cannot apply to VC 2.0 credentials (see above)."""
    if error.validator == "required" and "'issuanceDate' is a required property" in error.message:
        return True
    path = list(error.absolute_path)
    return (error.validator == "additionalProperties" and path[-1:] == ["credentialStatus"]
            and "verifiableCredential" in path)


def _describe(error: ValidationError) -> str:
    if error.validator == "required":
        return f"{_where(error)}: {error.message}"
    if error.validator == "type":
        return f"{_where(error)} must be of type {error.validator_value}"
    if error.validator == "maxItems":
        return f"{_where(error)} has too many items (at most {error.validator_value})"
    if error.validator == "minItems":
        return f"{_where(error)} needs at least {error.validator_value} item(s)"
    return f"{_where(error)}: {error.message[:200]}"


def validate(document: dict[str, Any]) -> SchemaCheck:
    """Validate ``document`` against the published schema for its type."""
    chosen = schema_for(document)
    if chosen is None:
        return SchemaCheck(None, ())
    label, name = chosen
    problems: list[str] = []
    for variant in _vc2_forms(document):
        errors = sorted(_validator(name).iter_errors(variant), key=lambda e: list(e.absolute_path))
        for error in errors:
            for leaf in _leaves(error):
                if name == CLR_SCHEMA_FILE and clr_set_aside(leaf):
                    continue
                text = _describe(leaf)
                if text not in problems:
                    problems.append(text)
    return SchemaCheck(label, tuple(problems))


def _vc2_forms(document: dict[str, Any]) -> list[dict[str, Any]]:
    """The document in the forms the schema describes (see the module docstring)."""
    if isinstance(document.get("proof"), dict):
        document = {**document, "proof": [document["proof"]]}
    statuses = document.get("credentialStatus")
    if isinstance(statuses, list) and statuses:
        return [{**document, "credentialStatus": entry} for entry in statuses]
    return [document]


def check_schema(document: dict[str, Any]) -> str:
    """``ok``, ``none`` (no published schema applies) or ``failed: <what is wrong>``."""
    return validate(document).summary
