"""The upstream feed: sellers and daily AHR values (docs/domain.md "Account Health Rating").

``ahr_ingest`` is the one path for the API and ``import_ahr``: rows are checked one by
one (a bad row is named and skipped, good rows are kept), staged in a temporary table
(COPY on PostgreSQL), upserted in one statement, and the sellers concerned are
evaluated incrementally, one transaction per chunk.
"""

import datetime as dt
import functools
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.db import OperationalError, transaction
from django.utils import timezone

from config.errors import InvalidInput
from sellers import staging
from sellers.assurance import Rules
from sellers.models import AssuranceState, Seller, Store
from sellers.services.assurance import apply_changes
from sellers.services.bands import bands_update
from sellers.services.contacts import emergency_contact_set
from sellers.services.evaluation import AFFECTED, affected_sellers_table, evaluate_affected
from sellers.validators import seller_id_problem

logger = logging.getLogger(__name__)
STAGING = "aha_ahr_staging"
STATE = AssuranceState._meta.db_table
SNAP = "sellers_accounthealthsnapshot"
DEFAULT_CHUNK = 100_000
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
# A whole number, leading zeros allowed, with at most 4 digits that matter: a longer one
# is out of range anyway, and int() of thousands of digits is refused (ValueError).
_SCORE = re.compile(r"-?0*[0-9]{1,4}")

RejectHandler = Callable[[int, Mapping[str, Any], dict[str, list[str]]], None]


@dataclass
class IngestSummary:
    accepted: int = 0
    rejected: list[dict[str, Any]] = field(default_factory=list)
    rejected_count: int = 0
    band_changes: int = 0
    enrollment: dict[str, int] = field(
        default_factory=lambda: {"enrolled": 0, "removed": 0, "warned": 0}
    )

    def as_dict(self) -> dict[str, Any]:
        return {"accepted": self.accepted, "rejected": self.rejected}


def _check_seller_id(value: Any) -> str | list[str]:
    if value is None or str(value).strip() == "":
        return ["This field is required."]
    if isinstance(value, bool) or not isinstance(value, str | int):
        return ["Must be text."]
    text = str(value).strip()
    # The character set (sellers.validators) also keeps NUL and lone surrogates, which
    # no database takes, out of the staging table.
    problem = seller_id_problem(text)
    return [problem] if problem else text


@functools.lru_cache(maxsize=4096)
def _iso_date(text: str) -> dt.date | None:
    """The date written ``YYYY-MM-DD``, else None (cached: a file has few distinct days)."""
    if not _ISO_DATE.fullmatch(text):
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        return None


def _check_date(value: Any, today: dt.date, oldest: dt.date) -> dt.date | list[str]:
    if value is None or str(value).strip() == "":
        return ["This field is required."]
    day = _iso_date(str(value).strip())
    if day is None:
        return [f"{str(value)[:40]!r} is not a date in the form YYYY-MM-DD."]
    if day > today:
        return [f"{day.isoformat()} is in the future; values are for past days."]
    if day < oldest:
        days = (today - oldest).days
        return [f"{day.isoformat()} is more than {days} days ago; the feed takes later days."]
    return day


def _check_score(value: Any) -> int | list[str]:
    if value is None or str(value).strip() == "":
        return ["This field is required."]
    score = None
    # The usual case first: plain ASCII digits, which the pattern below also accepts.
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 4:
        score = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        score = value
    # ASCII digits only: str.isdigit() also accepts "²", which int() refuses.
    elif isinstance(value, str) and _SCORE.fullmatch(value.strip()):
        score = int(value.strip())
    if score is None or not 0 <= score <= 1000:
        return [f"{str(value)[:40]!r} is not a whole number from 0 to 1000."]
    return score


def oldest_day(today: dt.date) -> dt.date:
    """The earliest day the feed takes a value for (``AHA["AHR_MAX_AGE_DAYS"]`` ago)."""
    return today - dt.timedelta(days=settings.AHA["AHR_MAX_AGE_DAYS"])


def check_row(
    row: Mapping[str, Any], *, today: dt.date, oldest: dt.date | None = None
) -> tuple[tuple | None, dict]:
    """Parses one row; returns ``((seller_id, date, score), {})`` or ``(None, errors)``.

    ``oldest`` is the earliest day taken (by default :func:`oldest_day` of ``today``).
    """
    if not isinstance(row, Mapping):
        return None, {
            "non_field_errors": ["Each row must be an object with seller_id, date and score."]
        }
    checked = {
        "seller_id": _check_seller_id(row.get("seller_id")),
        "date": _check_date(row.get("date"), today, oldest or oldest_day(today)),
        "score": _check_score(row.get("score")),
    }
    errors = {name: value for name, value in checked.items() if isinstance(value, list)}
    if errors:
        return None, errors
    return (checked["seller_id"], checked["date"], checked["score"]), {}


def ahr_ingest(
    rows: Iterable[Mapping[str, Any]],
    *,
    today: dt.date | None = None,
    on_reject: RejectHandler | None = None,
    keep_rejected: bool = True,
    chunk_size: int = DEFAULT_CHUNK,
) -> IngestSummary:
    """Upserts AHR values and evaluates the sellers concerned; bad rows are named and skipped.

    Rows are numbered from 0 in the order given. Within a chunk a later row for the same
    seller and day replaces an earlier one, which is rejected as a duplicate. A day more
    than ``AHA["AHR_MAX_AGE_DAYS"]`` before ``today`` is refused, like a day after it.
    """
    today = today or timezone.localdate()
    oldest = oldest_day(today)
    rules = Rules.current()
    summary = IngestSummary()

    def reject(index: int, row: Mapping[str, Any], errors: dict[str, list[str]]) -> None:
        summary.rejected_count += 1
        if keep_rejected:
            summary.rejected.append({"index": index, "errors": errors})
        if on_reject:
            on_reject(index, row, errors)

    chunk: dict[tuple[str, dt.date], tuple[int, Mapping, int]] = {}
    for index, row in enumerate(rows):
        parsed, errors = check_row(row, today=today, oldest=oldest)
        if errors:
            reject(index, row, errors)
            continue
        seller_key, day, score = parsed
        earlier = chunk.get((seller_key, day))
        if earlier is not None:
            reject(
                earlier[0],
                earlier[1],
                {"date": [f"Row {index} has a value for the same seller and day and replaces it."]},
            )
        chunk[(seller_key, day)] = (index, row, score)
        if len(chunk) >= chunk_size:
            _ingest_chunk_retrying(chunk, today=today, rules=rules, summary=summary, reject=reject)
            chunk = {}
    if chunk:
        _ingest_chunk_retrying(chunk, today=today, rules=rules, summary=summary, reject=reject)
    summary.rejected.sort(key=lambda item: item["index"])
    return summary


# PostgreSQL's answers to two transactions waiting on each other's rows (two feeds of the
# same sellers at once): one of them is rolled back, and may simply run again.
RETRIED_SQLSTATES = {"40P01", "40001"}  # deadlock detected, serialization failure
CHUNK_TRIES = 3


def _ingest_chunk_retrying(
    chunk: dict, *, today: dt.date, rules: Rules, summary: IngestSummary, reject
) -> None:
    """:func:`_ingest_chunk`, run again when PostgreSQL chose it as a deadlock's victim.

    What a try told the summary and the reject handler is kept back until it commits, so
    a try rolled back leaves no trace and the rows are counted once.
    """
    for attempt in range(1, CHUNK_TRIES + 1):
        tried = IngestSummary()
        rejects: list[tuple] = []
        try:
            _ingest_chunk(
                chunk,
                today=today,
                rules=rules,
                summary=tried,
                reject=lambda *args, kept=rejects: kept.append(args),
            )
        except OperationalError as error:
            sqlstate = getattr(error.__cause__, "sqlstate", None)
            if sqlstate not in RETRIED_SQLSTATES or attempt == CHUNK_TRIES:
                raise
            logger.warning("AHR chunk lost a deadlock (try %s); running it again.", attempt)
            continue
        for args in rejects:
            reject(*args)
        summary.accepted += tried.accepted
        summary.band_changes += tried.band_changes
        for key, value in tried.enrollment.items():
            summary.enrollment[key] += value
        return


def _ingest_chunk(
    chunk: dict, *, today: dt.date, rules: Rules, summary: IngestSummary, reject
) -> None:
    with (
        transaction.atomic(),
        staging.temp_table(
            STAGING, "row_no bigint, seller_key varchar(64), date date, score smallint"
        ),
        affected_sellers_table(),
    ):
        staging.tune_transaction()
        staging.fill(
            STAGING,
            ["row_no", "seller_key", "date", "score"],
            ((index, key, day, score) for (key, day), (index, _row, score) in chunk.items()),
        )
        unknown = staging.fetchall(
            f"""SELECT st.row_no FROM {STAGING} st
                LEFT JOIN sellers_seller s ON s.seller_id = st.seller_key
                WHERE s.id IS NULL ORDER BY st.row_no"""
        )
        if unknown:
            rows_by_index = {index: row for index, row, _score in chunk.values()}
            for (index,) in unknown:
                reject(
                    index, rows_by_index[index], {"seller_id": ["No seller has this seller_id."]}
                )
        _adjust_counts_for_corrections(rules)
        accepted = staging.execute(
            f"""INSERT INTO {SNAP} (seller_id, date, score)
                SELECT s.id, st.date, st.score FROM {STAGING} st
                JOIN sellers_seller s ON s.seller_id = st.seller_key WHERE TRUE
                ON CONFLICT (seller_id, date) DO UPDATE SET score = excluded.score"""
        )
        summary.accepted += len(chunk) - len(unknown)
        del accepted  # rowcount differs between backends for upserts; the count above is exact
        staging.execute(
            f"""INSERT INTO {AFFECTED} (seller_id)
                SELECT DISTINCT s.id FROM {STAGING} st
                JOIN sellers_seller s ON s.seller_id = st.seller_key"""
        )
        staging.analyze(AFFECTED)
        changes = evaluate_affected(day=today, rules=rules)
        apply_changes(changes, day=today, rules=rules, totals=summary.enrollment)
        summary.band_changes += bands_update(day=today)


def _adjust_counts_for_corrections(rules: Rules) -> None:
    """A value for a day already inside a counted window changes that count now.

    New days (after ``evaluated_on``) are counted when the window moves; this is only
    for corrections and late values, so it is skipped when none are staged.
    """
    # Only the states of the staged sellers matter, and usually none is counted past
    # the staged days (a new day arrives after the last evaluation).
    late = staging.fetchall(
        f"""SELECT 1 FROM {STAGING} st
            JOIN sellers_seller s ON s.seller_id = st.seller_key
            JOIN {STATE} x ON x.seller_id = s.id
            WHERE st.date <= x.evaluated_on LIMIT 1"""
    )
    if not late:
        return
    staging.execute(
        f"""UPDATE {STATE} SET days_below_threshold = days_below_threshold + d.delta
            FROM (
                SELECT s.id AS seller_id, SUM(
                    (CASE WHEN st.score < %(t)s THEN 1 ELSE 0 END)
                    - (CASE WHEN snap.score < %(t)s THEN 1 ELSE 0 END)) AS delta
                FROM {STAGING} st
                JOIN sellers_seller s ON s.seller_id = st.seller_key
                JOIN {STATE} x ON x.seller_id = s.id
                LEFT JOIN {SNAP} snap ON snap.seller_id = s.id AND snap.date = st.date
                WHERE x.rules_key = %(key)s AND st.date >= x.window_start
                  AND st.date <= x.evaluated_on
                GROUP BY s.id
            ) d
            WHERE {STATE}.seller_id = d.seller_id""",
        {"t": rules.threshold, "key": rules.key},
    )


def seller_upsert(
    *,
    seller_id: str,
    name: str,
    store_code: str,
    account_type: str,
    email: str = "",
    emergency_phone: str | None = None,
    emergency_phone_verified: bool = False,
) -> tuple[Seller, bool]:
    """Creates or updates a seller by the marketplace's id; returns ``(seller, created)``.

    ``emergency_phone_verified`` means the marketplace verified the number itself.
    """
    if problem := seller_id_problem(seller_id):
        raise InvalidInput({"seller_id": [problem]})
    with transaction.atomic():
        seller, created = Seller.objects.select_for_update().update_or_create(
            seller_id=seller_id,
            defaults={
                "name": name,
                "store": Store.objects.get(code=store_code),
                "account_type": account_type,
                "email": email,
            },
        )
        if emergency_phone is not None:
            emergency_contact_set(
                seller=seller,
                phone=emergency_phone,
                verified_by="upstream" if emergency_phone_verified else None,
            )
    return seller, created
