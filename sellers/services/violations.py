"""Policy violations pushed by upstream systems (docs/domain.md "Account Health Rating").

``violation_upsert_many`` is the one write: rows are checked one by one (a bad row is
named by its index and skipped, good rows are kept, as in the AHR feed), then created or
updated by the upstream system's id in one statement and one transaction.
"""

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone

from sellers.models import PolicyArea, Seller, Severity, Violation
from sellers.validators import seller_id_problem, text_problem, upstream_id_problem

# Each row is the whole violation: a field left out takes its default.
FIELDS = (
    "upstream_id",
    "seller_id",
    "policy_area",
    "severity",
    "points",
    "description",
    "opened_on",
    "status",
    "resolved_on",
)
# What an upsert rewrites of a known violation: all but its upstream id.
UPDATED_FIELDS = ["seller", *FIELDS[2:]]
MAX_POINTS = 2_147_483_647  # PositiveIntegerField on every backend
# At most 10 digits that matter (MAX_POINTS has 10): int() of thousands is refused.
_POINTS = re.compile(r"0*[0-9]{1,10}")
DESCRIPTION_MAX_LENGTH = Violation._meta.get_field("description").max_length
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_LOOKUP_CHUNK = 1_000
REQUIRED = "This field is required."


class _Invalid(Exception):
    """One field's value is not acceptable; the message says why."""


@dataclass
class UpsertSummary:
    accepted: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "rejected": self.rejected}


def _text(value: Any, *, max_length: int | None = None, required: bool = True) -> str:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _Invalid(REQUIRED)
        return ""
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise _Invalid("Must be text.")
    text = str(value).strip()
    # No database takes NUL or a lone surrogate: refuse them as bad input, not a 500.
    if problem := text_problem(text):
        raise _Invalid(problem)
    if max_length is not None and len(text) > max_length:
        raise _Invalid(f"Ensure this field has no more than {max_length} characters.")
    return text


def _id(value: Any, problem_of: Callable[[str], str | None]) -> str:
    """A seller id or upstream id in the one character set (sellers.validators)."""
    text = _text(value)
    if problem := problem_of(text):
        raise _Invalid(problem)
    return text


def _choice(value: Any, choices: Sequence[str], *, default: str | None = None) -> str:
    if value is None or value == "":
        if default is None:
            raise _Invalid(REQUIRED)
        return default
    if value not in choices:
        raise _Invalid(f"{str(value)[:40]!r} is not one of: {', '.join(choices)}.")
    return value


def _points(value: Any) -> int:
    if value is None or value == "":
        return 0
    points = None
    if isinstance(value, int) and not isinstance(value, bool):
        points = value
    elif isinstance(value, str) and _POINTS.fullmatch(value.strip()):
        points = int(value.strip())
    if points is None or not 0 <= points <= MAX_POINTS:
        raise _Invalid(f"{str(value)[:40]!r} is not a whole number of 0 or more.")
    return points


def _date(value: Any, *, today: dt.date, required: bool) -> dt.date | None:
    if value is None or value == "":
        if required:
            raise _Invalid(REQUIRED)
        return None
    day = None
    if isinstance(value, str) and _ISO_DATE.fullmatch(value.strip()):
        try:
            day = dt.date.fromisoformat(value.strip())
        except ValueError:
            day = None
    if day is None:
        raise _Invalid(f"{str(value)[:40]!r} is not a date in the form YYYY-MM-DD.")
    if day > today:
        raise _Invalid(f"{day.isoformat()} is in the future.")
    return day


def check_violation_row(row: Any, *, today: dt.date) -> tuple[dict | None, dict[str, list[str]]]:
    """Parses one row; returns ``(values, {})`` or ``(None, {field: [messages]})``."""
    if not isinstance(row, Mapping):
        return None, {
            "non_field_errors": [f"Each item must be an object with {', '.join(FIELDS)}."]
        }
    checks = {
        "upstream_id": lambda v: _id(v, upstream_id_problem),
        "seller_id": lambda v: _id(v, seller_id_problem),
        "policy_area": lambda v: _choice(v, PolicyArea.values),
        "severity": lambda v: _choice(v, Severity.values),
        "points": _points,
        "description": lambda v: _text(v, required=False, max_length=DESCRIPTION_MAX_LENGTH),
        "opened_on": lambda v: _date(v, today=today, required=True),
        "status": lambda v: _choice(v, Violation.Status.values, default=Violation.Status.OPEN),
        "resolved_on": lambda v: _date(v, today=today, required=False),
    }
    values, errors = {}, {}
    for name, check in checks.items():
        try:
            values[name] = check(row.get(name))
        except _Invalid as invalid:
            errors[name] = [str(invalid)]
    if not errors and values["resolved_on"] is not None:
        if values["resolved_on"] < values["opened_on"]:
            errors["resolved_on"] = ["The violation cannot be resolved before it opened."]
        elif values["status"] == Violation.Status.OPEN:
            errors["resolved_on"] = ["An open violation has no resolved_on: send its status too."]
    return (None, errors) if errors else (values, {})


def _seller_pks(seller_ids: Iterable[str]) -> dict[str, int]:
    seller_ids = sorted(set(seller_ids))
    found: dict[str, int] = {}
    for start in range(0, len(seller_ids), _LOOKUP_CHUNK):
        chunk = seller_ids[start : start + _LOOKUP_CHUNK]
        found.update(Seller.objects.filter(seller_id__in=chunk).values_list("seller_id", "pk"))
    return found


def violation_upsert_many(*, rows: Sequence[Any], today: dt.date | None = None) -> UpsertSummary:
    """Creates or updates violations by ``upstream_id``; bad rows are named and skipped.

    Rows are numbered from 0 in the order given; a later row with the same
    ``upstream_id`` replaces an earlier one, which is rejected as a duplicate. Each row
    is the whole violation (a field left out: no description, 0 points, open).
    """
    today = today or timezone.localdate()
    summary = UpsertSummary()

    def reject(index: int, errors: dict[str, list[str]]) -> None:
        summary.rejected.append({"index": index, "errors": errors})

    latest: dict[str, tuple[int, dict]] = {}
    for index, row in enumerate(rows):
        values, errors = check_violation_row(row, today=today)
        if errors:
            reject(index, errors)
            continue
        earlier = latest.get(values["upstream_id"])
        if earlier is not None:
            replaced = f"Row {index} has the same upstream_id and replaces this one."
            reject(earlier[0], {"upstream_id": [replaced]})
        latest[values["upstream_id"]] = (index, values)

    with transaction.atomic():
        sellers = _seller_pks(values["seller_id"] for _index, values in latest.values())
        violations = []
        for index, values in latest.values():
            seller_pk = sellers.get(values["seller_id"])
            if seller_pk is None:
                reject(index, {"seller_id": ["No seller has this seller_id."]})
                continue
            fields = {name: values[name] for name in UPDATED_FIELDS if name != "seller"}
            violations.append(
                Violation(upstream_id=values["upstream_id"], seller_id=seller_pk, **fields)
            )
        Violation.objects.bulk_create(
            violations,
            update_conflicts=True,
            unique_fields=["upstream_id"],
            update_fields=UPDATED_FIELDS,
            batch_size=_LOOKUP_CHUNK,
        )
    summary.accepted = len(violations)
    summary.rejected.sort(key=lambda item: item["index"])
    return summary
