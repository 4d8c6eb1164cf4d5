"""Enrollment, removal and warnings as a seller lives them; the AHR feed and its commands."""

import csv
import datetime as dt
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.apps import apps
from django.conf import settings as django_settings
from django.core import mail
from django.core.management import CommandError, call_command
from django.db import connection as django_connection
from django.utils import translation

from sellers.models import AccountHealthSnapshot, AssuranceState, EnrollmentEvent, Store
from sellers.selectors import seller_assurance
from sellers.services import ahr_ingest, assurance_evaluate, emergency_contact_set
from tests.factories import EmergencyContactFactory, SellerFactory

pytestmark = pytest.mark.django_db

D = dt.date
ONE_DAY = dt.timedelta(days=1)
# History from 1 Sep 2024; 10 Mar 2025's window starts 10 Sep 2024, so six months are there.
HISTORY_FROM = D(2024, 9, 1)
ENROLLED_ON = D(2025, 3, 10)
Kind = EnrollmentEvent.Kind
# Outside the +1415555.... numbers EmergencyContactFactory hands out.
NEW_NUMBER = "+12125550199"
ANOTHER_NUMBER = "+12125550123"


def every_day(start: dt.date, end: dt.date, score: int = 600) -> dict[dt.date, int]:
    return {start + dt.timedelta(days=n): score for n in range((end - start).days + 1)}


def rows_of(seller, values: dict[dt.date, int]) -> list[dict]:
    return [
        {"seller_id": seller.seller_id, "date": day.isoformat(), "score": score}
        for day, score in sorted(values.items())
    ]


def state_of(seller) -> AssuranceState:
    return AssuranceState.objects.get(seller=seller)


def events_of(seller, kind: str | None = None) -> list[EnrollmentEvent]:
    events = EnrollmentEvent.objects.filter(seller=seller).order_by("created_at", "id")
    return list(events.filter(kind=kind) if kind else events)


def at_noon(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(12), tzinfo=dt.UTC)


@pytest.fixture
def feed(committed):
    """Ingests ``{date: score}`` for a seller as the marketplace would on ``today``."""

    def push(seller, values: dict[dt.date, int], *, today: dt.date):
        summary = committed(ahr_ingest, rows_of(seller, values), today=today)
        assert summary.rejected == []
        return summary

    return push


def new_seller(**kwargs):
    seller = SellerFactory(**kwargs)
    EmergencyContactFactory(seller=seller)
    return seller


@pytest.fixture
def enrolled_seller(feed):
    """A seller enrolled on 10 Mar 2025 with six good months; its email already read."""
    seller = new_seller()
    feed(seller, every_day(HISTORY_FROM, ENROLLED_ON), today=ENROLLED_ON)
    assert state_of(seller).enrolled
    mail.outbox.clear()
    return seller


# --- enrollment -----------------------------------------------------------------------


def test_eligible_seller_is_enrolled_once_with_an_email_and_the_rules_that_decided(feed, committed):
    seller = new_seller()
    summary = feed(seller, every_day(HISTORY_FROM, ENROLLED_ON), today=ENROLLED_ON)

    assert summary.enrollment == {"enrolled": 1, "removed": 0, "warned": 0}
    state = state_of(seller)
    assert (state.enrolled, state.enrolled_since) == (True, ENROLLED_ON)
    [event] = events_of(seller)
    assert (event.kind, event.effective_on) == (Kind.ENROLLED, ENROLLED_ON)
    assert event.rules == {
        "threshold": 250,
        "max_days_below": 10,
        "window_months": 6,
        "warn_at_days_below": 8,
        "contact_grace_days": 7,
        "measured": {
            "days_below_threshold": 0,
            "latest_score": 600,
            "first_snapshot_on": "2024-09-01",
            "window_start": "2024-09-10",
            "window_end": "2025-03-10",
            "store": "US",
            "store_enabled": True,
            "professional": True,
            "contact_problem": None,
        },
    }
    [message] = mail.outbox
    assert message.to == [seller.email]
    assert message.subject == "Your account is now protected by Account Health Assurance"
    assert "From 10 March 2025 your account is enrolled in Account Health Assurance." in (
        message.body
    )
    assert "72 hours" in message.body
    assert event.emailed_at is not None

    # The next days change nothing: no second enrollment, no second email.
    feed(seller, {ENROLLED_ON + ONE_DAY: 700}, today=ENROLLED_ON + ONE_DAY)
    committed(assurance_evaluate, day=ENROLLED_ON + 2 * ONE_DAY)
    committed(assurance_evaluate, day=ENROLLED_ON + 2 * ONE_DAY)
    assert len(events_of(seller)) == 1
    assert len(mail.outbox) == 1
    assert state_of(seller).enrolled_since == ENROLLED_ON


@pytest.mark.parametrize(
    ("make_seller", "reason"),
    [
        (lambda: new_seller(account_type="individual"), "professional selling accounts"),
        (
            lambda: new_seller(store=Store.objects.get(code="DE")),
            "not yet available in your store (DE)",
        ),
        (SellerFactory, "No emergency contact number is on file."),
        (
            lambda: EmergencyContactFactory(verified_at=None, verified_by="").seller,
            "has not been verified",
        ),
        (
            # A verified premium-rate number cannot take the specialist's call.
            lambda: EmergencyContactFactory(phone="+19005550100").seller,
            "cannot receive calls",
        ),
    ],
    ids=["individual", "store-off", "no-contact", "unverified", "premium-rate"],
)
def test_seller_missing_a_rule_outside_ahr_is_not_enrolled(feed, make_seller, reason):
    seller = make_seller()
    feed(seller, every_day(HISTORY_FROM, ENROLLED_ON), today=ENROLLED_ON)

    assert not state_of(seller).enrolled
    assert events_of(seller) == []
    assert mail.outbox == []
    assurance = seller_assurance(seller, day=ENROLLED_ON)
    assert not assurance["eligible"]
    assert any(reason in text for text in assurance["reasons"])


# --- removal --------------------------------------------------------------------------


def test_seller_over_ten_days_below_is_removed_with_the_reason_in_plain_words(
    feed, enrolled_seller
):
    seller = enrolled_seller
    day = ENROLLED_ON + ONE_DAY
    # The marketplace corrects eleven February days; today's value is fine.
    corrections = every_day(D(2025, 2, 1), D(2025, 2, 11), score=180)
    summary = feed(seller, {**corrections, day: 600}, today=day)

    assert summary.enrollment["removed"] == 1
    state = state_of(seller)
    assert (state.enrolled, state.days_below_threshold) == (False, 11)
    [event] = events_of(seller, Kind.REMOVED)
    assert event.effective_on == day
    assert event.reason == (
        "Your Account Health Rating was below 250 on 11 days in the last 6 months; "
        "at most 10 are allowed."
    )
    assert event.rules["measured"]["days_below_threshold"] == 11
    [message] = mail.outbox
    assert message.subject == "Your account has left Account Health Assurance"
    assert "On 11 March 2025 your account left Account Health Assurance, because:" in (message.body)
    assert "below 250 on 11 days in the last 6 months; at most 10 are allowed." in message.body


def test_rating_below_threshold_today_removes_and_the_next_good_day_enrolls_again(
    feed, enrolled_seller
):
    seller = enrolled_seller
    feed(seller, {ENROLLED_ON + ONE_DAY: 249}, today=ENROLLED_ON + ONE_DAY)

    [removed] = events_of(seller, Kind.REMOVED)
    assert removed.reason == "Your current Account Health Rating (249) is below 250."
    assert mail.outbox[-1].subject == "Your account has left Account Health Assurance"

    feed(seller, {ENROLLED_ON + 2 * ONE_DAY: 250}, today=ENROLLED_ON + 2 * ONE_DAY)
    state = state_of(seller)
    assert (state.enrolled, state.enrolled_since) == (True, ENROLLED_ON + 2 * ONE_DAY)
    assert [event.kind for event in events_of(seller)] == [
        Kind.ENROLLED,
        Kind.REMOVED,
        Kind.ENROLLED,
    ]
    assert len(mail.outbox) == 2


def test_switching_aha_off_in_a_store_removes_its_sellers_at_the_next_evaluation(
    enrolled_seller, committed
):
    Store.objects.filter(code="US").update(aha_enabled=False)
    committed(assurance_evaluate, day=ENROLLED_ON + ONE_DAY)

    assert not state_of(enrolled_seller).enrolled
    [event] = events_of(enrolled_seller, Kind.REMOVED)
    assert event.reason == "Account Health Assurance is not yet available in your store (US)."
    assert event.rules["measured"]["store_enabled"] is False
    assert [message.subject for message in mail.outbox] == [
        "Your account has left Account Health Assurance"
    ]


def test_changed_threshold_in_settings_recounts_and_removes(feed, committed, settings):
    seller = new_seller()
    history = every_day(HISTORY_FROM, ENROLLED_ON)
    history.update(every_day(D(2025, 1, 1), D(2025, 1, 12), score=280))
    feed(seller, history, today=ENROLLED_ON)
    assert state_of(seller).enrolled

    settings.AHA = {**settings.AHA, "AHR_THRESHOLD": 300}
    committed(assurance_evaluate, day=ENROLLED_ON + ONE_DAY)

    state = state_of(seller)
    assert (state.days_below_threshold, state.enrolled) == (12, False)
    [event] = events_of(seller, Kind.REMOVED)
    assert "below 300 on 12 days in the last 6 months; at most 10 are allowed" in event.reason
    assert event.rules["threshold"] == 300


# --- warnings -------------------------------------------------------------------------


def test_warning_at_eight_days_below_is_sent_once_per_episode(feed, committed):
    seller = new_seller()
    history = every_day(HISTORY_FROM, ENROLLED_ON)
    history.update(every_day(D(2024, 10, 1), D(2024, 10, 7), score=200))  # seven bad days
    feed(seller, history, today=ENROLLED_ON)
    assert state_of(seller).enrolled
    assert events_of(seller, Kind.WARNED_DAYS_BELOW) == []
    mail.outbox.clear()

    # The eighth: a late correction of a January day.
    day = ENROLLED_ON + ONE_DAY
    feed(seller, {D(2025, 1, 15): 100, day: 600}, today=day)
    [warning] = events_of(seller, Kind.WARNED_DAYS_BELOW)
    assert warning.effective_on == day
    assert warning.reason.startswith(
        "Your Account Health Rating was below 250 on 8 of the 10 days allowed in the last 6 months."
    )
    [message] = mail.outbox
    assert message.subject == "Action needed to keep Account Health Assurance"
    assert "below 250 on 8 of the 10 days allowed" in message.body

    # Not again the next day, nor at nine.
    feed(seller, {day + ONE_DAY: 600}, today=day + ONE_DAY)
    feed(seller, {D(2025, 1, 16): 100, day + 2 * ONE_DAY: 600}, today=day + 2 * ONE_DAY)
    assert state_of(seller).days_below_threshold == 9
    assert len(events_of(seller, Kind.WARNED_DAYS_BELOW)) == 1
    assert len(mail.outbox) == 1

    # October's days leave the window on 8 Apr (window from 8 Oct): two remain, the episode
    # ends. Six more bad days make eight again: a new episode, a new warning.
    committed(assurance_evaluate, day=D(2025, 4, 8))
    assert state_of(seller).days_below_threshold == 2
    assert state_of(seller).enrolled
    feed(
        seller,
        {**every_day(D(2025, 2, 1), D(2025, 2, 6), score=100), D(2025, 4, 9): 600},
        today=D(2025, 4, 9),
    )
    assert len(events_of(seller, Kind.WARNED_DAYS_BELOW)) == 2
    assert len(mail.outbox) == 2


def test_seller_enrolled_with_eight_days_below_already_used_is_warned_at_once(feed):
    seller = new_seller()
    history = every_day(HISTORY_FROM, ENROLLED_ON)
    history.update(every_day(D(2024, 11, 1), D(2024, 11, 9), score=240))  # nine bad days
    feed(seller, history, today=ENROLLED_ON)

    assert [(event.kind, event.effective_on) for event in events_of(seller)] == [
        (Kind.ENROLLED, ENROLLED_ON),
        (Kind.WARNED_DAYS_BELOW, ENROLLED_ON),
    ]
    assert [message.subject for message in mail.outbox] == [
        "Your account is now protected by Account Health Assurance",
        "Action needed to keep Account Health Assurance",
    ]
    feed(seller, {ENROLLED_ON + ONE_DAY: 600}, today=ENROLLED_ON + ONE_DAY)
    assert len(events_of(seller, Kind.WARNED_DAYS_BELOW)) == 1


def test_new_emergency_number_warns_once_and_removes_only_after_the_grace_days(
    enrolled_seller, committed
):
    seller = enrolled_seller
    with time_machine.travel(at_noon(ENROLLED_ON), tick=False) as traveller:
        contact = committed(emergency_contact_set, seller=seller, phone=NEW_NUMBER)
        assert contact.verified_at is None
        assert not contact.is_valid

        state = state_of(seller)
        assert (state.enrolled, state.contact_valid) == (True, False)
        [warning] = events_of(seller, Kind.WARNED_CONTACT)
        assert warning.reason == (
            "Your emergency contact number has not been verified with a code yet. Verify a "
            "number within 7 days to stay in Account Health Assurance."
        )
        [message] = mail.outbox
        assert message.subject == "Action needed to keep Account Health Assurance"
        assert "within 7 days" in message.body

        grace_days = django_settings.AHA["CONTACT_GRACE_DAYS"]
        for n in range(1, grace_days):
            day = ENROLLED_ON + n * ONE_DAY
            traveller.move_to(at_noon(day))
            committed(assurance_evaluate, day=day)
            assert state_of(seller).enrolled, f"removed on {day}, within the grace days"
        assert len(mail.outbox) == 1

        removal_day = ENROLLED_ON + grace_days * ONE_DAY
        traveller.move_to(at_noon(removal_day))
        committed(assurance_evaluate, day=removal_day)

    assert not state_of(seller).enrolled
    [removed] = events_of(seller, Kind.REMOVED)
    assert removed.effective_on == removal_day
    assert removed.reason == "Your emergency contact number has not been verified with a code yet."
    assert [message.subject for message in mail.outbox] == [
        "Action needed to keep Account Health Assurance",
        "Your account has left Account Health Assurance",
    ]
    assert len(events_of(seller, Kind.WARNED_CONTACT)) == 1


def test_verifying_the_new_number_within_the_grace_days_keeps_the_programme(
    enrolled_seller, committed
):
    seller = enrolled_seller
    with time_machine.travel(at_noon(ENROLLED_ON), tick=False) as traveller:
        committed(emergency_contact_set, seller=seller, phone=NEW_NUMBER)
        traveller.move_to(at_noon(ENROLLED_ON + 3 * ONE_DAY))
        committed(emergency_contact_set, seller=seller, phone=NEW_NUMBER, verified_by="sms")
        for n in range(4, 15):
            traveller.move_to(at_noon(ENROLLED_ON + n * ONE_DAY))
            committed(assurance_evaluate, day=ENROLLED_ON + n * ONE_DAY)
        assert state_of(seller).enrolled
        assert events_of(seller, Kind.REMOVED) == []

        # A later change is a new episode: warned again.
        committed(emergency_contact_set, seller=seller, phone=ANOTHER_NUMBER)
    assert len(events_of(seller, Kind.WARNED_CONTACT)) == 2


def test_setting_the_same_number_again_keeps_it_verified(enrolled_seller, committed):
    seller = enrolled_seller
    phone = str(seller.emergency_contact.phone)
    with time_machine.travel(at_noon(ENROLLED_ON), tick=False):
        contact = committed(emergency_contact_set, seller=seller, phone=phone)
    assert contact.is_valid
    assert events_of(seller, Kind.WARNED_CONTACT) == []
    assert mail.outbox == []


# --- the history is append-only -------------------------------------------------------


def test_enrollment_events_cannot_be_edited_or_deleted(enrolled_seller):
    [event] = events_of(enrolled_seller)
    event.reason = "Rewritten"
    with pytest.raises(ValueError, match="append-only"):
        event.save()
    with pytest.raises(ValueError, match="append-only"):
        event.delete()
    assert EnrollmentEvent.objects.get(pk=event.pk).reason != "Rewritten"


def test_enrollment_events_cannot_be_deleted_or_edited_in_bulk(enrolled_seller):
    events = EnrollmentEvent.objects.filter(seller=enrolled_seller)
    with pytest.raises(ValueError, match="append-only"):
        events.update(reason="Rewritten")
    with pytest.raises(ValueError, match="append-only"):
        events.delete()
    assert [event.reason for event in events] != ["Rewritten"]
    assert events.count() == 1


# --- the feed -------------------------------------------------------------------------


def test_ahr_ingest_rejects_bad_rows_by_index_and_field_and_keeps_the_good_ones():
    seller = SellerFactory()
    sid = seller.seller_id
    today = D(2025, 3, 10)
    rows = [
        {"seller_id": sid, "date": "2025-03-01", "score": 300},  # 0 good
        {"seller_id": "NO-SUCH-SELLER", "date": "2025-03-01", "score": 300},
        {"seller_id": sid, "date": "2025-03-04", "score": 1001},
        {"seller_id": sid, "date": "2025-03-04", "score": "abc"},
        {"seller_id": sid, "date": "2025-03-04", "score": "²"},
        {"seller_id": sid, "date": "2025-03-04", "score": -1},  # 5
        {"seller_id": sid, "date": "2025-03-04", "score": 250.5},
        {"seller_id": sid, "date": "2025-02-30", "score": 300},
        {"seller_id": sid, "date": "01/03/2025", "score": 300},
        {"seller_id": sid, "date": "2025-03-11", "score": 300},
        {},  # 10
        {"seller_id": sid, "date": "2025-03-02", "score": 100},
        {"seller_id": sid, "date": "2025-03-02", "score": 400},  # replaces row 11
        "not an object",
        {"seller_id": sid, "date": "2025-03-04", "score": True},
        {"seller_id": sid, "date": "2025-03-03", "score": " 250 "},  # 15 good
    ]
    summary = ahr_ingest(rows, today=today)

    assert summary.accepted == 3
    rejected = {item["index"]: item["errors"] for item in summary.rejected}
    assert [item["index"] for item in summary.rejected] == sorted(rejected)
    assert {index: sorted(errors) for index, errors in rejected.items()} == {
        1: ["seller_id"],
        2: ["score"],
        3: ["score"],
        4: ["score"],
        5: ["score"],
        6: ["score"],
        7: ["date"],
        8: ["date"],
        9: ["date"],
        10: ["date", "score", "seller_id"],
        11: ["date"],
        13: ["non_field_errors"],
        14: ["score"],
    }
    assert rejected[1]["seller_id"] == ["No seller has this seller_id."]
    assert rejected[2]["score"] == ["'1001' is not a whole number from 0 to 1000."]
    assert "is not a date in the form YYYY-MM-DD" in rejected[7]["date"][0]
    assert rejected[9]["date"] == ["2025-03-11 is in the future; values are for past days."]
    assert rejected[10]["seller_id"] == ["This field is required."]
    assert rejected[11]["date"] == [
        "Row 12 has a value for the same seller and day and replaces it."
    ]
    stored = dict(AccountHealthSnapshot.objects.filter(seller=seller).values_list("date", "score"))
    assert stored == {D(2025, 3, 1): 300, D(2025, 3, 2): 400, D(2025, 3, 3): 250}


def test_ahr_ingest_counts_a_correction_only_once(feed, enrolled_seller):
    seller = enrolled_seller
    day = ENROLLED_ON + ONE_DAY
    feed(seller, {D(2025, 1, 1): 100, day: 600}, today=day)
    feed(seller, {D(2025, 1, 1): 120}, today=day)  # still below: no change
    assert state_of(seller).days_below_threshold == 1
    feed(seller, {D(2025, 1, 1): 600}, today=day)  # corrected up: no longer below
    assert state_of(seller).days_below_threshold == 0


# --- emails in the seller's language --------------------------------------------------


def german_catalogue_exists() -> bool:
    """A German catalogue of our own strings (Django's and libraries' do not count)."""
    folders = [Path(path) for path in django_settings.LOCALE_PATHS]
    folders += [
        Path(app.path) / "locale"
        for app in apps.get_app_configs()
        if "site-packages" not in Path(app.path).parts
    ]
    return any((folder / "de" / "LC_MESSAGES" / "django.mo").is_file() for folder in folders)


@pytest.fixture
def german_seller():
    Store.objects.filter(code="DE").update(aha_enabled=True)
    return new_seller(store=Store.objects.get(code="DE"))


ENGLISH_SUBJECT = "Your account is now protected by Account Health Assurance"


@pytest.mark.skipif(not german_catalogue_exists(), reason="no German translation (locale/de)")
def test_german_store_seller_gets_german_email_when_a_translation_exists(feed, german_seller):
    feed(german_seller, every_day(HISTORY_FROM, ENROLLED_ON), today=ENROLLED_ON)
    [message] = mail.outbox
    with translation.override("de"):
        german_subject = translation.gettext(ENGLISH_SUBJECT)
    assert german_subject != ENGLISH_SUBJECT
    assert message.subject == german_subject
    assert "März" in message.body


@pytest.mark.skipif(german_catalogue_exists(), reason="a German translation exists")
@pytest.mark.xfail(
    strict=True,
    reason="Known bug, reported: notifications/email.py switches to German whenever 'de' is "
    "in LANGUAGES, so an English email without a translation gets German month names.",
)
def test_german_store_seller_gets_english_email_without_a_translation(feed, german_seller):
    feed(german_seller, every_day(HISTORY_FROM, ENROLLED_ON), today=ENROLLED_ON)
    [message] = mail.outbox
    assert message.subject == ENGLISH_SUBJECT
    assert "From 10 March 2025 your account is enrolled" in message.body


# --- management commands --------------------------------------------------------------


def test_evaluate_assurance_command_enrolls_for_the_given_date(feed, committed):
    seller = new_seller()
    # From 2 Sep: on 1 Mar the window starts 1 Sep, one day too early; on 2 Mar it is enough.
    feed(seller, every_day(D(2024, 9, 2), D(2025, 3, 1)), today=D(2025, 3, 1))
    assert not state_of(seller).enrolled

    out = StringIO()
    committed(call_command, "evaluate_assurance", "--date", "2025-03-02", stdout=out)

    assert out.getvalue().strip() == "evaluated: 1  enrolled: 1  removed: 0  warned: 0"
    assert state_of(seller).enrolled_since == D(2025, 3, 2)
    assert len(mail.outbox) == 1


def test_evaluate_assurance_command_refuses_a_bad_date():
    with pytest.raises(CommandError, match="not a date in the form YYYY-MM-DD"):
        call_command("evaluate_assurance", "--date", "2025-02-30")


def write_csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_import_ahr_stores_good_rows_and_writes_rejected_ones_beside_the_file(tmp_path):
    seller = SellerFactory()
    sid = seller.seller_id
    source = write_csv(
        tmp_path / "ahr.csv",
        [
            "seller_id,date,score",
            f"{sid},2025-03-01,300",
            "NO-SUCH-SELLER,2025-03-01,300",
            f"{sid},2025-03-02,abc",
            f"{sid},2025-03-02,410",
            f"{sid},2025-02-30,410",
            f"{sid},2025-03-03,1200",
        ],
    )
    out = StringIO()
    with time_machine.travel(at_noon(D(2025, 3, 10)), tick=False):
        call_command("import_ahr", str(source), stdout=out, stderr=StringIO())

    output = out.getvalue()
    assert "accepted: 2  rejected: 4" in output
    rejected_path = tmp_path / "ahr.rejected.csv"
    assert f"rejected rows and why: {rejected_path}" in output
    with rejected_path.open(newline="", encoding="utf-8") as handle:
        header, *lines = list(csv.reader(handle))
    assert header == ["line", "seller_id", "date", "score", "errors"]
    by_line = {int(line[0]): line for line in lines}
    assert sorted(by_line) == [3, 4, 6, 7]
    assert by_line[3][1:4] == ["NO-SUCH-SELLER", "2025-03-01", "300"]
    assert by_line[3][4] == "seller_id: No seller has this seller_id."
    assert by_line[4][4] == "score: 'abc' is not a whole number from 0 to 1000."
    assert by_line[6][4].startswith("date: ")
    assert by_line[7][4].startswith("score: ")
    stored = dict(AccountHealthSnapshot.objects.filter(seller=seller).values_list("date", "score"))
    assert stored == {D(2025, 3, 1): 300, D(2025, 3, 2): 410}


def test_import_ahr_without_bad_rows_leaves_no_rejected_file(tmp_path):
    seller = SellerFactory()
    source = write_csv(
        tmp_path / "clean.csv", ["seller_id,date,score", f"{seller.seller_id},2025-03-01,300"]
    )
    out = StringIO()
    with time_machine.travel(at_noon(D(2025, 3, 10)), tick=False):
        call_command("import_ahr", str(source), stdout=out, stderr=StringIO())
    assert "accepted: 1  rejected: 0" in out.getvalue()
    assert not (tmp_path / "clean.rejected.csv").exists()


def test_import_ahr_names_a_missing_column(tmp_path):
    source = write_csv(tmp_path / "ahr.csv", ["seller_id,date,value", "A0000001,2025-03-01,300"])
    with pytest.raises(CommandError, match="missing: score"):
        call_command("import_ahr", str(source), stdout=StringIO(), stderr=StringIO())
    assert AccountHealthSnapshot.objects.count() == 0


def test_import_ahr_refuses_a_missing_file(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_ahr", str(tmp_path / "absent.csv"))


@pytest.mark.postgres
@pytest.mark.skipif(
    django_connection.vendor != "postgresql", reason="PostgreSQL's deadlock error code"
)
def test_a_chunk_chosen_as_a_deadlocks_victim_runs_again_and_counts_once():
    seller = SellerFactory()
    # The database itself answers the first snapshot upsert with "deadlock detected", as
    # PostgreSQL does to one of two feeds waiting on each other's rows.
    with django_connection.cursor() as cursor:
        cursor.execute("CREATE SEQUENCE deadlock_once")
        cursor.execute(
            """CREATE FUNCTION deadlock_once() RETURNS trigger AS $$ BEGIN
                 IF nextval('deadlock_once') = 1 THEN
                   RAISE EXCEPTION 'deadlock detected' USING ERRCODE = '40P01';
                 END IF;
                 RETURN NEW; END $$ LANGUAGE plpgsql"""
        )
        cursor.execute(
            """CREATE TRIGGER deadlock_once BEFORE INSERT ON sellers_accounthealthsnapshot
               FOR EACH ROW EXECUTE FUNCTION deadlock_once()"""
        )
    day = dt.date(2026, 3, 2)
    rows = [
        {"seller_id": seller.seller_id, "date": day.isoformat(), "score": 150},
        {"seller_id": "NOBODY", "date": day.isoformat(), "score": 150},
    ]
    seen = []
    summary = ahr_ingest(rows, today=day, on_reject=lambda index, row, errors: seen.append(index))

    assert summary.accepted == 1
    assert summary.rejected == [
        {"index": 1, "errors": {"seller_id": ["No seller has this seller_id."]}}
    ]
    assert seen == [1], "the rolled-back try told the reject handler nothing"
    assert summary.band_changes == 1
    assert AccountHealthSnapshot.objects.get(seller=seller).score == 150
