"""The seller's notifications and notification preferences in the API: the seller's own
token reads and changes them; the desk reads them; nobody sees another seller's."""

import datetime as dt

import pytest
import time_machine

from config.errors import problem_type
from config.problem_details import PROBLEM_JSON
from sellers.models import NotificationPreferences, SellerNotification
from sellers.services.notices import notification_post
from tests.factories import SellerFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 15, 12, tzinfo=dt.UTC)
Kind = SellerNotification.Kind


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


def post(seller, title="News", *, minutes_ago=0, kind=Kind.BAND_CHANGE, link="/portal/"):
    return notification_post(
        seller=seller,
        kind=kind,
        title=title,
        body="What to do.",
        link=link,
        at=NOW - dt.timedelta(minutes=minutes_ago),
    )


def notifications_url(seller_id="S-MINE", rest=""):
    return f"/api/v1/sellers/{seller_id}/notifications/{rest}"


def preferences_url(seller_id="S-MINE"):
    return f"/api/v1/sellers/{seller_id}/notification-preferences/"


def assert_invalid(response, *fields):
    assert response.status_code == 400
    assert response["Content-Type"] == PROBLEM_JSON
    assert response.json()["type"] == problem_type("invalid-input")
    assert set(fields) <= set(response.json()["errors"]), response.json()


# --- the list ------------------------------------------------------------------------------


def test_seller_lists_their_notifications_newest_first_with_read(seller_api):
    old = post(seller_api.seller, "Old", minutes_ago=30, kind=Kind.ENROLLMENT)
    post(seller_api.seller, "New", kind=Kind.CALLBACK)
    old.read_at = NOW
    old.save()
    post(SellerFactory(seller_id="S-OTHER"), "Not yours")

    response = seller_api.get(notifications_url())
    assert response.status_code == 200
    page = response.json()
    assert page["count"] == 2
    assert [(n["title"], n["read"], n["urgent"]) for n in page["results"]] == [
        ("New", False, True),
        ("Old", True, False),
    ]
    assert page["results"][1]["kind"] == "enrollment"
    assert page["results"][1]["read_at"] == "2026-03-15T12:00:00Z"
    assert page["results"][0]["link"] == "/portal/"


def test_list_is_paginated_with_limit_and_offset(seller_api):
    for n in range(5):
        post(seller_api.seller, f"News {n}", minutes_ago=n)
    page = seller_api.get(notifications_url(), {"limit": 2, "offset": 2}).json()
    assert page["count"] == 5
    assert [n["title"] for n in page["results"]] == ["News 2", "News 3"]


def test_another_sellers_notifications_are_not_found(seller_api):
    SellerFactory(seller_id="S-OTHER")
    for response in [
        seller_api.get(notifications_url("S-OTHER")),
        seller_api.post(notifications_url("S-OTHER", "read/"), {}, format="json"),
        seller_api.get(preferences_url("S-OTHER")),
        seller_api.patch(preferences_url("S-OTHER"), {"second_email": ""}, format="json"),
    ]:
        assert response.status_code == 404
        assert response["Content-Type"] == PROBLEM_JSON


def test_desk_reads_a_sellers_notifications_and_preferences_but_changes_nothing(
    specialist_api, manager_api
):
    seller = SellerFactory(seller_id="S-DESK")
    post(seller, "Seen by the desk")
    for api in (specialist_api, manager_api):
        assert api.get(notifications_url("S-DESK")).json()["count"] == 1
        assert api.get(preferences_url("S-DESK")).json()["email"]["band_change"] is True
        response = api.post(notifications_url("S-DESK", "read/"), {}, format="json")
        assert response.status_code == 403
        response = api.patch(
            preferences_url("S-DESK"), {"email": {"band_change": False}}, format="json"
        )
        assert response.status_code == 403
    assert SellerNotification.objects.get(seller=seller).read_at is None
    assert not NotificationPreferences.objects.filter(seller=seller).exists()


# --- marking read --------------------------------------------------------------------------


def test_marking_some_read_by_id_leaves_the_others_and_other_sellers_alone(seller_api):
    first = post(seller_api.seller, "First")
    second = post(seller_api.seller, "Second")
    theirs = post(SellerFactory(seller_id="S-OTHER"), "Theirs")
    response = seller_api.post(
        notifications_url(rest="read/"), {"ids": [first.pk, theirs.pk]}, format="json"
    )
    assert response.status_code == 200
    assert response.json() == {"marked": 1, "unread": 1}
    first.refresh_from_db()
    second.refresh_from_db()
    theirs.refresh_from_db()
    assert first.read_at == NOW
    assert second.read_at is None
    assert theirs.read_at is None


@pytest.mark.parametrize("body", [None, {}])
def test_no_ids_marks_every_notification_read(seller_api, body):
    post(seller_api.seller, "First")
    post(seller_api.seller, "Second")
    if body is None:
        response = seller_api.post(notifications_url(rest="read/"))
    else:
        response = seller_api.post(notifications_url(rest="read/"), body, format="json")
    assert response.json() == {"marked": 2, "unread": 0}


@pytest.mark.parametrize(
    "body",
    [
        {"ids": "all"},
        {"ids": [1, "two"]},
        {"ids": [True]},
        {"ids": [0]},
        {"ids": [2**63]},
        {"ids": None},
        {"ids": list(range(1, 1002))},
        [1, 2],
        "ids",
    ],
)
def test_bad_ids_are_a_problem_naming_ids(seller_api, body):
    notice = post(seller_api.seller)
    response = seller_api.post(notifications_url(rest="read/"), body, format="json")
    assert_invalid(response, "ids")
    notice.refresh_from_db()
    assert notice.read_at is None


# --- preferences ---------------------------------------------------------------------------


def test_preferences_default_to_every_email_on_with_urgent_kinds_shown_on(seller_api):
    response = seller_api.get(preferences_url())
    assert response.status_code == 200
    assert response.json() == {
        "second_email": "",
        "email": {kind.value: True for kind in Kind},
        "urgent": ["critical_case", "callback"],
    }


def test_seller_switches_a_kind_off_and_sets_a_second_address(seller_api):
    response = seller_api.patch(
        preferences_url(),
        {"second_email": "ops@mine.example", "email": {"band_change": False}},
        format="json",
    )
    assert response.status_code == 200
    body = response.json()
    assert body["second_email"] == "ops@mine.example"
    assert body["email"]["band_change"] is False
    assert body["email"]["violation"] is True
    assert body["email"]["critical_case"] is True
    preferences = NotificationPreferences.objects.get(seller=seller_api.seller)
    assert not preferences.email_band_change
    assert seller_api.seller.notification_emails(Kind.BAND_CHANGE) == []
    # A PATCH changes only what it names.
    seller_api.patch(preferences_url(), {"email": {"violation": False}}, format="json")
    preferences.refresh_from_db()
    assert preferences.second_email == "ops@mine.example"
    assert not preferences.email_band_change
    assert not preferences.email_violation


@pytest.mark.parametrize("kind", ["critical_case", "callback"])
def test_an_urgent_kind_cannot_be_switched_off(seller_api, kind):
    response = seller_api.patch(preferences_url(), {"email": {kind: False}}, format="json")
    assert_invalid(response, f"email.{kind}")
    assert "always sent" in response.json()["detail"]
    assert not NotificationPreferences.objects.filter(seller=seller_api.seller).exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"email": {"band_change": "no"}}, "email.band_change"),
        ({"email": {"weather": False}}, "email.weather"),
        ({"email": ["band_change"]}, "email"),
        ({"second_email": "not an address"}, "second_email"),
        ({"second_email": 42}, "second_email"),
        ({"second_email": "s-mine@sellers.example.test"}, "second_email"),
        ({"second_email": "a\x00b@example.com"}, "second_email"),
        ({"colour": "blue"}, "colour"),
        (["band_change"], "non_field_errors"),
    ],
)
def test_bad_preferences_are_a_problem_naming_the_field(seller_api, body, field):
    response = seller_api.patch(preferences_url(), body, format="json")
    assert_invalid(response, field)
    assert not NotificationPreferences.objects.filter(seller=seller_api.seller).exists()
