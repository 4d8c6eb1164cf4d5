"""AHR bands (docs/domain.md "Account Health Rating"): who moved band, and the news of it.

Run inside each evaluation's transaction, after ``evaluate_affected``, set-based over the
sellers in its affected table: the moves are staged in a temporary table, recorded as
``BandChange`` rows and portal notifications, and handed to the apps above through
``sellers.signals.health_evaluated`` (cases opens and closes account-health cases there).
"""

import datetime as dt

from django.utils import timezone, translation
from django.utils.translation import gettext

from config.tasks import enqueue_on_commit
from sellers import staging
from sellers.assurance import AT_RISK, HEALTHY, UNHEALTHY, band_sql
from sellers.models import AssuranceState, BandChange, SellerNotification
from sellers.services.evaluation import AFFECTED
from sellers.services.notices import notifications_post_set
from sellers.signals import health_evaluated
from sellers.tasks import send_notification_emails

BAND_CHANGES = "aha_band_changes"
STATE = AssuranceState._meta.db_table

# The moves a seller is told about on the portal. Moves up are emailed too (if the seller
# wants band-change emails); a move down opens or raises an account-health case, whose
# outreach email says it.
MOVES = {
    (HEALTHY, AT_RISK): False,
    (HEALTHY, UNHEALTHY): False,
    (AT_RISK, UNHEALTHY): False,
    (UNHEALTHY, AT_RISK): True,
    (AT_RISK, HEALTHY): True,
    (UNHEALTHY, HEALTHY): True,
}


def bands_update(*, day: dt.date) -> int:
    """Brings the band of every affected seller to their latest value, records each move,
    posts its notification and sends ``health_evaluated``. Returns the number of moves."""
    columns = (
        "seller_id bigint PRIMARY KEY, from_band varchar(16), to_band varchar(16), "
        "score smallint, effective_on date"
    )
    with staging.temp_table(BAND_CHANGES, columns):
        moved = staging.execute(
            f"""INSERT INTO {BAND_CHANGES} (seller_id, from_band, to_band, score, effective_on)
                SELECT x.seller_id, x.band, {band_sql("x.latest_score")}, x.latest_score,
                       x.latest_snapshot_on
                FROM {STATE} x JOIN {AFFECTED} a ON a.seller_id = x.seller_id
                WHERE x.latest_score IS NOT NULL AND x.band <> {band_sql("x.latest_score")}"""
        )
        staging.analyze(BAND_CHANGES)
        if moved:
            now = timezone.now().replace(microsecond=0)
            staging.execute(
                f"""UPDATE {STATE} SET band = c.to_band, band_since = c.effective_on
                    FROM {BAND_CHANGES} c WHERE {STATE}.seller_id = c.seller_id"""
            )
            # A first value in Healthy is no news: it sets the band, and is not recorded.
            staging.execute(
                f"""INSERT INTO {BandChange._meta.db_table}
                        (seller_id, from_band, to_band, score, effective_on, created_at)
                    SELECT seller_id, from_band, to_band, score, effective_on, %(now)s
                    FROM {BAND_CHANGES} WHERE from_band <> '' OR to_band <> %(healthy)s""",
                {"now": staging.db_datetime(now), "healthy": HEALTHY},
            )
            if _post_notifications(now):
                enqueue_on_commit(send_notification_emails)
        health_evaluated.send(
            sender=AssuranceState, day=day, affected=AFFECTED, band_changes=BAND_CHANGES
        )
    return moved


def _post_notifications(now: dt.datetime) -> bool:
    """One notification per move, in the seller's language; True when any is to be emailed."""
    languages = [
        language
        for (language,) in staging.fetchall(
            f"""SELECT DISTINCT st.language FROM {BAND_CHANGES} c
                JOIN sellers_seller s ON s.id = c.seller_id
                JOIN sellers_store st ON st.id = s.store_id"""
        )
    ]
    emailed = False
    for language in languages:
        for (from_band, to_band), email in MOVES.items():
            title, body = band_change_text(from_band, to_band, language=language)
            posted = notifications_post_set(
                rows=f"""FROM {BAND_CHANGES} c
                    JOIN sellers_seller s ON s.id = c.seller_id
                    JOIN sellers_store st ON st.id = s.store_id
                    WHERE st.language = %(language)s
                      AND c.from_band = %(from_band)s AND c.to_band = %(to_band)s""",
                kind=SellerNotification.Kind.BAND_CHANGE,
                title="%(title)s || ' ' || CAST(c.score AS varchar(8))",
                body="%(body)s",
                dedupe="""'band:' || s.seller_id || ':' || CAST(c.effective_on AS varchar(10))
                    || ':' || c.to_band""",
                now=now,
                email=email,
                params={
                    "title": title,
                    "body": body,
                    "language": language,
                    "from_band": from_band,
                    "to_band": to_band,
                },
            )
            emailed = emailed or (email and posted > 0)
    return emailed


def band_change_text(from_band: str, to_band: str, *, language: str) -> tuple[str, str]:
    """The title (the score follows it) and the body of a band-change notification."""
    with translation.override(language):
        titles = {
            HEALTHY: gettext("Your Account Health Rating is Healthy again:"),
            AT_RISK: gettext("Your Account Health Rating is At Risk:"),
            UNHEALTHY: gettext("Your Account Health Rating is Unhealthy:"),
        }
        if to_band == HEALTHY:
            body = gettext(
                "Your rating is back in the Healthy band (200 and more). Keep your open "
                "violations fixed and your performance steady to stay there."
            )
        elif to_band == AT_RISK and from_band == UNHEALTHY:
            body = gettext(
                "Your rating rose into At Risk (100 to 199): the fixes are working. Keep going "
                "with your plan until it is Healthy (200 and more)."
            )
        elif to_band == AT_RISK:
            body = gettext(
                "Your rating fell into At Risk (100 to 199). An account whose rating keeps "
                "falling can lose its selling privileges. Fix the violations that cost the "
                "most points first; an Account Health Specialist will contact you to help."
            )
        else:
            body = gettext(
                "Your rating fell below 100 (Unhealthy): your account risks deactivation. "
                "Fix the violations that cost the most points now, and press Call Me Now on "
                "your account health page to talk to a specialist."
            )
    return titles[to_band], body
