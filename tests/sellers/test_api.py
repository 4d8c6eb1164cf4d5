"""The sellers API: upstream feed, reads by role, the assurance status."""

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.roles import Role
from sellers.models import AccountHealthSnapshot, EmergencyContact, Seller
from tests.factories import EmergencyContactFactory, SellerFactory, UserFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 23)


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel(dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC), tick=False):
        yield


def token_client(name="health-feed", user=None) -> APIClient:
    out = StringIO()
    args = [name, "--user", user.username] if user else [name]
    call_command("issue_api_token", *args, stdout=out, stderr=StringIO())
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {out.getvalue().strip()}")
    return client


@pytest.fixture
def upstream() -> APIClient:
    return token_client()


def seller_payload(**overrides) -> dict:
    return {
        "seller_id": "A100",
        "name": "Acme Outdoor",
        "store": "US",
        "account_type": "professional",
        "emergency_phone": "+14155550100",
        **overrides,
    }


def test_upstream_creates_then_updates_a_seller_by_seller_id(upstream):
    created = upstream.post("/api/v1/sellers/", seller_payload(), format="json")
    assert created.status_code == 201, created.json()
    assert created.json()["seller_id"] == "A100"
    assert created.json()["emergency_contact"]["verified"] is False
    updated = upstream.post(
        "/api/v1/sellers/", seller_payload(name="Acme Outdoor LLC"), format="json"
    )
    assert updated.status_code == 200
    assert Seller.objects.get().name == "Acme Outdoor LLC"


def test_marketplace_verified_number_counts_as_verified_and_survives_a_repost(upstream):
    upstream.post("/api/v1/sellers/", seller_payload(emergency_phone_verified=True), format="json")
    contact = EmergencyContact.objects.get()
    assert contact.verified_by == "upstream"
    assert contact.is_valid
    upstream.post("/api/v1/sellers/", seller_payload(), format="json")
    assert EmergencyContact.objects.get().verified_at == contact.verified_at
    upstream.post("/api/v1/sellers/", seller_payload(emergency_phone="+14155550199"), format="json")
    assert EmergencyContact.objects.get().verified_at is None


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"store": "XX"}, "store"),
        ({"account_type": "hobby"}, "account_type"),
        ({"emergency_phone": "555-0100"}, "emergency_phone"),
        ({"seller_id": ""}, "seller_id"),
        ({"email": "not-an-email"}, "email"),
    ],
)
def test_bad_seller_fields_are_named_and_nothing_is_saved(upstream, change, field):
    response = upstream.post("/api/v1/sellers/", seller_payload(**change), format="json")
    assert response.status_code == 400
    assert field in response.json()
    assert not Seller.objects.exists()


@pytest.mark.parametrize("role", [Role.SELLER, Role.SPECIALIST, Role.MANAGER])
def test_only_upstream_tokens_write_the_feed(role):
    client = token_client("person", user=UserFactory(role=role))
    assert client.post("/api/v1/sellers/", seller_payload(), format="json").status_code == 403
    assert client.post("/api/v1/ahr/", [], format="json").status_code == 403
    assert not Seller.objects.exists()


def test_anonymous_gets_401():
    assert APIClient().get("/api/v1/sellers/A100/").status_code == 401


def test_who_reads_which_seller(upstream):
    own = SellerFactory(seller_id="OWN")
    SellerFactory(seller_id="OTHER")
    seller_user = UserFactory(role=Role.SELLER)
    own.users.add(seller_user)
    seller_client = token_client("me", user=seller_user)
    specialist_client = token_client("desk", user=UserFactory(role=Role.SPECIALIST))
    assert seller_client.get("/api/v1/sellers/OWN/").status_code == 200
    assert seller_client.get("/api/v1/sellers/OTHER/").status_code == 404
    assert seller_client.get("/api/v1/sellers/OTHER/assurance/").status_code == 404
    assert specialist_client.get("/api/v1/sellers/OTHER/").status_code == 200
    assert upstream.get("/api/v1/sellers/OTHER/assurance/").status_code == 200


def test_ahr_feed_keeps_good_rows_and_names_bad_ones(upstream):
    SellerFactory(seller_id="A1")
    rows = [
        {"seller_id": "A1", "date": "2026-11-20", "score": 300},
        {"seller_id": "NOPE", "date": "2026-11-20", "score": 300},
        {"seller_id": "A1", "date": "2026-11-21", "score": 1001},
        {"seller_id": "A1", "date": "21/11/2026", "score": 300},
        {"seller_id": "A1", "date": "2026-11-24", "score": 300},
        {"seller_id": "A1", "date": "2026-11-22", "score": "240"},
        "not an object",
    ]
    response = upstream.post("/api/v1/ahr/", rows, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 2
    assert [(item["index"], sorted(item["errors"])) for item in body["rejected"]] == [
        (1, ["seller_id"]),
        (2, ["score"]),
        (3, ["date"]),
        (4, ["date"]),
        (6, ["non_field_errors"]),
    ]
    assert "future" in body["rejected"][3]["errors"]["date"][0]
    stored = dict(AccountHealthSnapshot.objects.values_list("date", "score"))
    assert stored == {dt.date(2026, 11, 20): 300, dt.date(2026, 11, 22): 240}


def test_ahr_feed_upserts_a_corrected_value(upstream):
    SellerFactory(seller_id="A1")
    upstream.post(
        "/api/v1/ahr/", [{"seller_id": "A1", "date": "2026-11-20", "score": 100}], format="json"
    )
    upstream.post(
        "/api/v1/ahr/", [{"seller_id": "A1", "date": "2026-11-20", "score": 400}], format="json"
    )
    assert list(AccountHealthSnapshot.objects.values_list("score", flat=True)) == [400]


def test_ahr_feed_refuses_what_is_not_a_list(upstream):
    response = upstream.post("/api/v1/ahr/", {"seller_id": "A1"}, format="json")
    assert response.status_code == 400
    assert "JSON list" in response.json()["error"]


@override_settings(AHA={**__import__("django.conf").conf.settings.AHA, "AHR_API_MAX_ROWS": 3})
def test_ahr_feed_refuses_more_rows_than_allowed(upstream):
    rows = [{"seller_id": "A1", "date": "2026-11-20", "score": 300}] * 4
    response = upstream.post("/api/v1/ahr/", rows, format="json")
    assert response.status_code == 400
    assert response.json() == {"error": "At most 3 rows a request; this one has 4."}


def test_assurance_answers_the_path_to_eligibility(upstream):
    seller = SellerFactory(seller_id="A1")
    EmergencyContactFactory(seller=seller)
    first = TODAY - dt.timedelta(days=100)
    rows = [
        {
            "seller_id": "A1",
            "date": (first + dt.timedelta(days=i)).isoformat(),
            "score": 180 if i < 12 else 400,
        }
        for i in range(101)
    ]
    assert upstream.post("/api/v1/ahr/", rows, format="json").json()["accepted"] == 101
    body = upstream.get("/api/v1/sellers/A1/assurance/").json()
    assert body["eligible"] is False
    assert body["enrolled"] is False
    assert body["ahr"] == 400
    assert body["band"] == "healthy"
    assert body["window_start"] == "2026-05-23"
    assert body["window_end"] == "2026-11-23"
    assert body["days_below_threshold"] == 12
    assert body["days_below_allowed"] == 10
    # History starts 2026-08-15: six months later is 2027-02-15.
    assert body["history_days_needed"] == (dt.date(2027, 2, 15) - TODAY).days
    # ...but 12 bad days (15-26 Aug) are 2 too many: the window must start after 16 Aug.
    assert body["earliest_enrollment_date"] == "2027-02-17"
    assert len(body["reasons"]) == 2
    assert "12 days" in body["reasons"][1]


def test_issuing_a_token_again_replaces_the_old_one():
    first = token_client("feed")
    second = token_client("feed")
    assert first.get("/api/v1/sellers/X/").status_code == 401
    assert second.get("/api/v1/sellers/X/").status_code == 404


def test_issue_api_token_refuses_an_unknown_user():
    with pytest.raises(CommandError, match="--user: no user is called 'ghost'"):
        call_command(
            "issue_api_token", "x", "--user", "ghost", stdout=StringIO(), stderr=StringIO()
        )


def test_openapi_schema_documents_the_feed(client):
    response = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    assert {"/api/v1/sellers/", "/api/v1/ahr/", "/api/v1/sellers/{seller_id}/assurance/"} <= set(
        paths
    )
