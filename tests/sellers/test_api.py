"""The sellers API: upstream feeds (sellers, AHR, violations), reads by role, filters."""

import datetime as dt
from io import StringIO

import pytest
import time_machine
from django.core.management import CommandError, call_command
from django.test import override_settings
from rest_framework.test import APIClient

from accounts.roles import Role
from config.errors import problem_type
from config.problem_details import PROBLEM_JSON
from sellers.models import (
    AccountHealthSnapshot,
    AssuranceState,
    EmergencyContact,
    Seller,
    Violation,
)
from tests.builders import api_client
from tests.factories import (
    EmergencyContactFactory,
    SellerFactory,
    StoreFactory,
    UserFactory,
    ViolationFactory,
)

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 23)


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel(dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC), tick=False):
        yield


def token_client(name="health-feed", user=None) -> APIClient:
    return api_client(user, name=name)


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
    assert field in response.json()["errors"]
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
    assert "JSON list" in response.json()["detail"]


@override_settings(AHA={**__import__("django.conf").conf.settings.AHA, "AHR_API_MAX_ROWS": 3})
def test_ahr_feed_refuses_more_rows_than_allowed(upstream):
    rows = [{"seller_id": "A1", "date": "2026-11-20", "score": 300}] * 4
    response = upstream.post("/api/v1/ahr/", rows, format="json")
    assert response.status_code == 400
    assert response.json()["detail"] == "At most 3 rows a request; this one has 4."


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


# --- Violations ---------------------------------------------------------------------


def violation(**overrides) -> dict:
    return {
        "upstream_id": "V-1",
        "seller_id": "A1",
        "policy_area": "late_shipment_rate",
        "severity": "high",
        "points": 40,
        "description": "Late shipment rate 6%",
        "opened_on": "2026-11-01",
        "status": "open",
        "resolved_on": None,
        **overrides,
    }


def assert_problem(response, status_code: int, kind: str) -> dict:
    assert response.status_code == status_code, response.content
    assert response["Content-Type"] == PROBLEM_JSON
    body = response.json()
    assert body["type"] == problem_type(kind)
    assert {"title", "status", "detail"} <= set(body)
    return body


def test_violations_are_created_then_updated_by_upstream_id(upstream):
    seller = SellerFactory(seller_id="A1")
    created = upstream.post("/api/v1/violations/", [violation()], format="json")
    assert created.json() == {"accepted": 1, "rejected": []}
    resolved = violation(status="resolved", resolved_on="2026-11-20", points=0)
    assert upstream.post("/api/v1/violations/", [resolved], format="json").json()["accepted"] == 1
    stored = Violation.objects.get()
    assert (stored.seller, stored.upstream_id, stored.status, stored.points) == (
        seller,
        "V-1",
        "resolved",
        0,
    )
    assert stored.resolved_on == dt.date(2026, 11, 20)
    assert stored.description == "Late shipment rate 6%"


def test_violation_feed_keeps_good_items_and_names_bad_ones_by_index(upstream):
    SellerFactory(seller_id="A1")
    items = [
        violation(upstream_id="V-1"),
        violation(upstream_id="V-2", seller_id="NOPE"),
        violation(upstream_id="V-3", severity="urgent"),
        violation(upstream_id=None),
        violation(upstream_id="V-5", opened_on="2026-12-01"),
        "not an object",
        violation(upstream_id="V-7", points=-3),
        violation(upstream_id="V-8", resolved_on="2026-10-01", status="resolved"),
        violation(upstream_id="V-9", resolved_on="2026-11-02"),
        violation(upstream_id="V-10", policy_area="counterfeit", severity="critical"),
        violation(upstream_id="V-11", description="x\x00y"),
    ]
    response = upstream.post("/api/v1/violations/", items, format="json")
    assert response.status_code == 200
    body = response.json()
    assert body["accepted"] == 2
    assert [(item["index"], sorted(item["errors"])) for item in body["rejected"]] == [
        (1, ["seller_id"]),
        (2, ["severity"]),
        (3, ["upstream_id"]),
        (4, ["opened_on"]),
        (5, ["non_field_errors"]),
        (6, ["points"]),
        (7, ["resolved_on"]),
        (8, ["resolved_on"]),
        (10, ["description"]),
    ]
    assert "future" in body["rejected"][3]["errors"]["opened_on"][0]
    assert sorted(Violation.objects.values_list("upstream_id", flat=True)) == ["V-1", "V-10"]


def test_a_later_item_with_the_same_upstream_id_replaces_an_earlier_one(upstream):
    SellerFactory(seller_id="A1")
    items = [violation(severity="low"), violation(severity="critical")]
    body = upstream.post("/api/v1/violations/", items, format="json").json()
    assert body["accepted"] == 1
    assert [(item["index"], list(item["errors"])) for item in body["rejected"]] == [
        (0, ["upstream_id"])
    ]
    assert Violation.objects.get().severity == "critical"


def test_violation_feed_refuses_more_than_ten_thousand_items_or_a_non_list(upstream):
    SellerFactory(seller_id="A1")
    too_many = upstream.post("/api/v1/violations/", [violation()] * 10_001, format="json")
    body = assert_problem(too_many, 400, "invalid-input")
    assert body["detail"] == "At most 10,000 rows a request; this one has 10,001."
    not_a_list = upstream.post("/api/v1/violations/", violation(), format="json")
    assert "JSON list" in assert_problem(not_a_list, 400, "invalid-input")["detail"]
    assert not Violation.objects.exists()


@pytest.mark.parametrize("role", [Role.SELLER, Role.SPECIALIST, Role.MANAGER])
def test_only_upstream_tokens_push_violations(role):
    SellerFactory(seller_id="A1")
    client = token_client("person", user=UserFactory(role=role))
    response = client.post("/api/v1/violations/", [violation()], format="json")
    assert_problem(response, 403, "forbidden")
    assert not Violation.objects.exists()


def test_a_sellers_violations_list_the_one_to_fix_first_on_top(upstream):
    seller = SellerFactory(seller_id="A1")
    for severity, points, status, description in [
        ("high", 10, "open", "high 10"),
        ("critical", 5, "open", "critical 5"),
        ("low", 100, "open", "low 100"),
        ("critical", 50, "resolved", "resolved critical 50"),
        ("critical", 30, "open", "critical 30"),
        ("medium", 20, "dismissed", "dismissed medium"),
    ]:
        ViolationFactory(
            seller=seller, severity=severity, points=points, status=status, description=description
        )
    listed = upstream.get("/api/v1/sellers/A1/violations/").json()["results"]
    assert [item["description"] for item in listed] == [
        "critical 30",
        "critical 5",
        "high 10",
        "low 100",
        "resolved critical 50",
        "dismissed medium",
    ]
    assert set(listed[0]) == {
        "id",
        "upstream_id",
        "seller_id",
        "policy_area",
        "severity",
        "points",
        "description",
        "opened_on",
        "status",
        "resolved_on",
    }
    filtered = upstream.get("/api/v1/sellers/A1/violations/?status=open&severity=critical,high")
    assert [item["description"] for item in filtered.json()["results"]] == [
        "critical 30",
        "critical 5",
        "high 10",
    ]


def test_a_seller_reads_only_their_own_violations():
    own = SellerFactory(seller_id="OWN")
    ViolationFactory(seller=own)
    ViolationFactory(seller=SellerFactory(seller_id="OTHER"))
    seller_user = UserFactory(role=Role.SELLER)
    own.users.add(seller_user)
    client = token_client("me", user=seller_user)
    assert client.get("/api/v1/sellers/OWN/violations/").json()["count"] == 1
    assert_problem(client.get("/api/v1/sellers/OTHER/violations/"), 404, "not-found")


# --- Lists and filters --------------------------------------------------------------


def test_sellers_list_what_the_reader_may_see_filtered(upstream):
    own = SellerFactory(seller_id="OWN")
    EmergencyContactFactory(seller=own)
    AssuranceState.objects.create(seller=own, enrolled=True)
    SellerFactory(seller_id="CA1", store=StoreFactory(code="CA", name="Canada"))
    SellerFactory(seller_id="IND", account_type="individual")
    seller_user = UserFactory(role=Role.SELLER)
    own.users.add(seller_user)

    def ids(client, query=""):
        response = client.get(f"/api/v1/sellers/?{query}")
        assert response.status_code == 200, response.content
        return [seller["seller_id"] for seller in response.json()["results"]]

    assert ids(upstream) == ["CA1", "IND", "OWN"]
    assert ids(token_client("me", user=seller_user)) == ["OWN"]
    assert ids(upstream, "store=CA") == ["CA1"]
    assert ids(upstream, "account_type=individual") == ["IND"]
    assert ids(upstream, "enrolled=true") == ["OWN"]
    assert ids(upstream, "enrolled=false") == ["CA1", "IND"]
    listed = upstream.get("/api/v1/sellers/?enrolled=true").json()["results"][0]
    assert listed["enrolled"] is True
    assert listed["emergency_contact"]["verified"] is True


@pytest.mark.parametrize(
    ("url", "parameter"),
    [
        ("/api/v1/sellers/?store=ZZ", "store"),
        ("/api/v1/sellers/?account_type=hobby", "account_type"),
        ("/api/v1/sellers/?enrolled=maybe", "enrolled"),
        ("/api/v1/sellers/A1/violations/?severity=urgent", "severity"),
        ("/api/v1/sellers/A1/violations/?status=open,gone", "status"),
    ],
)
def test_an_unknown_filter_value_is_a_400_naming_the_parameter(upstream, url, parameter):
    SellerFactory(seller_id="A1")
    body = assert_problem(upstream.get(url), 400, "invalid-input")
    assert list(body["errors"]) == [parameter]
