"""Policy violations pushed by upstream systems (docs/domain.md "Account Health Rating").

``violation_upsert_many`` is the one write: rows are checked one by one (a bad row is
named by its index and skipped, good rows are kept, as in the AHR feed), then created or
updated by the upstream system's id in one statement and one transaction. A violation
that arrives for the first time, open, is posted to the seller's notification centre and
emailed (``violation``), set-based, once per violation.
"""

import datetime as dt
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from config.tasks import enqueue_on_commit
from sellers import staging
from sellers.models import PolicyArea, Seller, SellerNotification, Severity, Violation
from sellers.services.notices import notifications_post_set
from sellers.tasks import send_notification_emails
from sellers.validators import (
    UPSTREAM_ID_MAX_LENGTH,
    seller_id_problem,
    text_problem,
    upstream_id_problem,
)

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
NEW_VIOLATIONS = "aha_new_violations"
# Stands for the points in a translated text, which the database fills in row by row.
_POINTS_MARK = "\x1fPOINTS\x1f"
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
        known = _known_upstream_ids(violation.upstream_id for violation in violations)
        Violation.objects.bulk_create(
            violations,
            update_conflicts=True,
            unique_fields=["upstream_id"],
            update_fields=UPDATED_FIELDS,
            batch_size=_LOOKUP_CHUNK,
        )
        new_open = [
            violation.upstream_id
            for violation in violations
            if violation.upstream_id not in known and violation.status == Violation.Status.OPEN
        ]
        if new_open and violations_announce(upstream_ids=new_open):
            enqueue_on_commit(send_notification_emails)
    summary.accepted = len(violations)
    summary.rejected.sort(key=lambda item: item["index"])
    return summary


def _known_upstream_ids(upstream_ids: Iterable[str]) -> set[str]:
    upstream_ids = sorted(set(upstream_ids))
    known: set[str] = set()
    for start in range(0, len(upstream_ids), _LOOKUP_CHUNK):
        chunk = upstream_ids[start : start + _LOOKUP_CHUNK]
        known.update(
            Violation.objects.filter(upstream_id__in=chunk).values_list("upstream_id", flat=True)
        )
    return known


def violation_notice_texts(
    *, severity: str, policy_area: str, language: str
) -> tuple[str, tuple[str, str], tuple[str, str], str, str]:
    """The parts of a new violation's notification: the title; the points sentence for
    1 point and for more, each split around where the points go; the advice when it is the
    seller's costliest open violation, and when another costs more."""
    with translation.override(language):
        severities = {
            Severity.LOW: gettext("low severity"),
            Severity.MEDIUM: gettext("medium severity"),
            Severity.HIGH: gettext("high severity"),
            Severity.CRITICAL: gettext("critical severity"),
        }
        title = gettext("New policy violation: %(area)s (%(severity)s)") % {
            "area": PolicyArea(policy_area).label,
            "severity": severities[severity],
        }

        def split(count: int) -> tuple[str, str]:
            sentence = ngettext(
                "A new violation was recorded on your account. It costs your Account Health "
                "Rating %(points)s point.",
                "A new violation was recorded on your account. It costs your Account Health "
                "Rating %(points)s points.",
                count,
            ) % {"points": _POINTS_MARK}
            before, after = sentence.split(_POINTS_MARK)
            return before, after

        costliest = gettext(
            "It costs more points than any other open violation of yours: fix it first. Your "
            "account health page lists them all; press Call Me Now there if you need help."
        )
        other = gettext(
            "Fix the open violations that cost the most points first, then this one. Your "
            "account health page lists them all; press Call Me Now there if you need help."
        )
        return title, split(1), split(2), costliest, other


def violations_announce(*, upstream_ids: list[str]) -> int:
    """Posts one ``violation`` notification (emailed) per violation of ``upstream_ids``, in
    its seller's language, set-based; returns how many were posted (once per violation)."""
    violation = Violation._meta.db_table
    now = timezone.now().replace(microsecond=0)
    posted = 0
    with staging.temp_table(
        NEW_VIOLATIONS, f"upstream_id varchar({UPSTREAM_ID_MAX_LENGTH}) PRIMARY KEY"
    ):
        staging.fill(
            NEW_VIOLATIONS, ["upstream_id"], ((upstream_id,) for upstream_id in upstream_ids)
        )
        joins = f"""FROM {NEW_VIOLATIONS} n JOIN {violation} v ON v.upstream_id = n.upstream_id
                    JOIN sellers_seller s ON s.id = v.seller_id
                    JOIN sellers_store st ON st.id = s.store_id"""
        groups = staging.fetchall(
            f"SELECT DISTINCT st.language, v.severity, v.policy_area {joins} "
            "WHERE v.status = 'open'"
        )
        for language, severity, policy_area in groups:
            title, one, many, costliest, other = violation_notice_texts(
                severity=severity, policy_area=policy_area, language=language
            )
            posted += notifications_post_set(
                rows=f"""{joins}
                    WHERE v.status = 'open' AND st.language = %(language)s
                      AND v.severity = %(severity)s AND v.policy_area = %(policy_area)s""",
                kind=SellerNotification.Kind.VIOLATION,
                title="%(title)s",
                # Table names are module constants; every value is a parameter.
                body=f"""CASE WHEN v.points = 1 THEN %(one_before)s ELSE %(many_before)s END
                    || CAST(v.points AS varchar(12))
                    || CASE WHEN v.points = 1 THEN %(one_after)s ELSE %(many_after)s END
                    || ' ' || CASE WHEN EXISTS (
                        SELECT 1 FROM {violation} o WHERE o.seller_id = v.seller_id
                          AND o.status = 'open' AND o.points > v.points)
                      THEN %(other)s ELSE %(costliest)s END""",  # noqa: S608
                dedupe="'violation:' || CAST(v.id AS varchar(20))",
                now=now,
                email=True,
                params={
                    "title": title,
                    "one_before": one[0],
                    "one_after": one[1],
                    "many_before": many[0],
                    "many_after": many[1],
                    "costliest": costliest,
                    "other": other,
                    "language": language,
                    "severity": severity,
                    "policy_area": policy_area,
                },
            )
    return posted
