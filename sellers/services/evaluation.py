"""The incremental eligibility engine (docs/domain.md "AHA eligibility and enrollment").

Each seller's ``AssuranceState`` holds the count of days below the threshold in the
window ending on ``evaluated_on``. Moving it to a later day D adds the bad days that
entered the window and subtracts those that left it: two narrow range look-ups on the
``(seller, date)`` index per seller, never a rescan of six months. States with no count
yet, or a count made under other rules, are counted once from the history. All of it is
set-based SQL over a temporary table of the sellers concerned, so one evaluation of a
million sellers is a handful of statements.
"""

import datetime as dt
from dataclasses import dataclass

from django.db import transaction

from sellers import staging
from sellers.assurance import Rules
from sellers.models import AssuranceState

AFFECTED = "aha_affected_sellers"
STATE = AssuranceState._meta.db_table
SNAP = "sellers_accounthealthsnapshot"
CONTACT = "sellers_emergencycontact"

# First and latest value of the seller of the state row being updated.
_REFRESH_FIRST_LATEST = f"""
    first_snapshot_on = (SELECT MIN(s.date) FROM {SNAP} s WHERE s.seller_id = {STATE}.seller_id),
    latest_snapshot_on = (
        SELECT MAX(s.date) FROM {SNAP} s WHERE s.seller_id = {STATE}.seller_id AND s.date <= %(day)s
    ),
    latest_score = (
        SELECT s.score FROM {SNAP} s WHERE s.seller_id = {STATE}.seller_id AND s.date <= %(day)s
        ORDER BY s.date DESC LIMIT 1
    )"""

_IN_AFFECTED = f"{STATE}.seller_id IN (SELECT seller_id FROM {AFFECTED})"


@dataclass(frozen=True)
class Change:
    seller_id: int
    kind: str  # "enroll", "remove", "warn_days_below", "warn_contact"


def affected_sellers_table():
    return staging.temp_table(AFFECTED, "seller_id bigint PRIMARY KEY")


def evaluate_affected(*, day: dt.date, rules: Rules) -> list[Change]:
    """Brings every state in the affected table to ``day``; returns what must change.

    The caller holds the transaction and has filled the affected table.
    """
    assert transaction.get_connection().in_atomic_block
    staging.tune_transaction()
    window_start = rules.window_start(day)
    params = {
        "day": day,
        "ws": window_start,
        "t": rules.threshold,
        "key": rules.key,
        "maxdays": rules.max_days_below,
        "warn": rules.warn_at_days_below,
        "grace_cutoff": day - dt.timedelta(days=rules.contact_grace_days),
    }
    staging.execute(
        f"""INSERT INTO {STATE} (seller_id, rules_key, days_below_threshold, contact_valid,
                eligible, enrolled, band, updated_at)
            SELECT a.seller_id, '', 0, FALSE, FALSE, FALSE, '', CURRENT_TIMESTAMP FROM {AFFECTED} a
            WHERE NOT EXISTS (SELECT 1 FROM {STATE} x WHERE x.seller_id = a.seller_id)""",
    )
    # Already at D (before the statements below move others there): values ingested
    # since only move first/latest; their counts were adjusted at ingest.
    staging.execute(
        f"""UPDATE {STATE} SET {_REFRESH_FIRST_LATEST}
            WHERE {_IN_AFFECTED} AND evaluated_on = %(day)s""",
        params,
    )
    # Never counted, counted under other rules, or asked about an earlier day: count anew.
    staging.execute(
        f"""UPDATE {STATE} SET
                days_below_threshold = (
                    SELECT COUNT(*) FROM {SNAP} s WHERE s.seller_id = {STATE}.seller_id
                    AND s.date >= %(ws)s AND s.date <= %(day)s AND s.score < %(t)s),
                evaluated_on = %(day)s, window_start = %(ws)s, rules_key = %(key)s,
                {_REFRESH_FIRST_LATEST}
            WHERE {_IN_AFFECTED}
              AND (evaluated_on IS NULL OR rules_key <> %(key)s OR evaluated_on > %(day)s)""",
        params,
    )
    # Counted up to an earlier day E: move the window from [ws(E), E] to [ws(D), D].
    earlier_days = staging.fetchall(
        f"""SELECT DISTINCT evaluated_on FROM {STATE}
            WHERE {_IN_AFFECTED} AND evaluated_on < %(day)s""",
        params,
    )
    for (evaluated_on,) in earlier_days:
        old_start = rules.window_start(evaluated_on)
        staging.execute(
            f"""UPDATE {STATE} SET
                    days_below_threshold = days_below_threshold
                      + (SELECT COUNT(*) FROM {SNAP} s WHERE s.seller_id = {STATE}.seller_id
                         AND s.date >= %(add_from)s AND s.date <= %(day)s AND s.score < %(t)s)
                      - (SELECT COUNT(*) FROM {SNAP} s WHERE s.seller_id = {STATE}.seller_id
                         AND s.date >= %(drop_from)s AND s.date <= %(drop_to)s AND s.score < %(t)s),
                    evaluated_on = %(day)s, window_start = %(ws)s,
                    {_REFRESH_FIRST_LATEST}
                WHERE {_IN_AFFECTED} AND evaluated_on = %(evaluated_on)s""",
            {
                **params,
                "evaluated_on": evaluated_on,
                # Days after E that are inside the new window entered it...
                "add_from": max(evaluated_on + dt.timedelta(days=1), window_start),
                # ...and counted days before the new window left it.
                "drop_from": old_start,
                "drop_to": min(evaluated_on, window_start - dt.timedelta(days=1)),
            },
        )
    contact_valid = "COALESCE(c.verified_at IS NOT NULL AND c.callable, FALSE)"
    # The new values are computed from the row as it was (the grace period counts from the
    # old contact_invalid_since, or from today when the contact just failed), and only rows
    # where one of them differs are written: on most days almost none.
    staging.execute(
        f"""UPDATE {STATE} SET
                eligible = n.eligible,
                contact_valid = n.contact_valid,
                contact_invalid_since = CASE WHEN n.contact_valid THEN NULL
                    ELSE COALESCE({STATE}.contact_invalid_since, %(day)s) END,
                warned_contact_on = CASE WHEN n.contact_valid THEN NULL
                    ELSE {STATE}.warned_contact_on END,
                warned_days_below_on = CASE WHEN {STATE}.days_below_threshold < %(warn)s
                    THEN NULL ELSE {STATE}.warned_days_below_on END
            FROM (
                SELECT x.seller_id,
                    CASE WHEN
                        seller.account_type = 'professional' AND store.aha_enabled
                        AND x.first_snapshot_on <= x.window_start
                        AND x.days_below_threshold <= %(maxdays)s
                        AND x.latest_score >= %(t)s
                        AND ({contact_valid} OR (x.enrolled
                             AND COALESCE(x.contact_invalid_since, %(day)s) > %(grace_cutoff)s))
                    THEN TRUE ELSE FALSE END AS eligible,
                    {contact_valid} AS contact_valid
                FROM {AFFECTED} a
                    JOIN {STATE} x ON x.seller_id = a.seller_id
                    JOIN sellers_seller seller ON seller.id = a.seller_id
                    JOIN sellers_store store ON store.id = seller.store_id
                    LEFT JOIN {CONTACT} c ON c.seller_id = a.seller_id
            ) n
            WHERE {STATE}.seller_id = n.seller_id AND (
                {STATE}.eligible <> n.eligible
                OR {STATE}.contact_valid <> n.contact_valid
                OR (n.contact_valid AND ({STATE}.contact_invalid_since IS NOT NULL
                                         OR {STATE}.warned_contact_on IS NOT NULL))
                OR (NOT n.contact_valid AND {STATE}.contact_invalid_since IS NULL)
                OR ({STATE}.days_below_threshold < %(warn)s
                    AND {STATE}.warned_days_below_on IS NOT NULL))""",
        params,
    )
    rows = staging.fetchall(
        f"""SELECT seller_id, eligible, enrolled, days_below_threshold, contact_valid,
                   warned_days_below_on, warned_contact_on
            FROM {STATE}
            WHERE {_IN_AFFECTED} AND (
                eligible <> enrolled
                OR (enrolled AND days_below_threshold >= %(warn)s AND warned_days_below_on IS NULL)
                OR (enrolled AND NOT contact_valid AND warned_contact_on IS NULL))
            ORDER BY seller_id""",
        params,
    )
    changes = []
    for (
        seller_id,
        eligible,
        enrolled,
        days_below,
        contact_valid,
        warned_days,
        warned_contact,
    ) in rows:
        if enrolled and not eligible:
            changes.append(Change(seller_id, "remove"))
            continue
        if eligible and not enrolled:
            changes.append(Change(seller_id, "enroll"))
        # Also right after enrolling: a seller who joins with most bad days used is told now.
        if days_below >= rules.warn_at_days_below and warned_days is None:
            changes.append(Change(seller_id, "warn_days_below"))
        if not contact_valid and warned_contact is None:
            changes.append(Change(seller_id, "warn_contact"))
    return changes
