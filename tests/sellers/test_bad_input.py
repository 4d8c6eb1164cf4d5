"""Bad input to the sellers' feeds (sellers, AHR, violations, ``import_ahr``): each bad row
is named by index and refused, every good row in the same request is kept, and nothing is
a server error (issue 9, items 5, 6 and 9)."""

import csv
import datetime as dt
import json
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.exceptions import ValidationError
from django.core.management import call_command
from django.forms import modelform_factory

from sellers.models import AccountHealthSnapshot, AssuranceState, Seller, Violation
from sellers.services import ahr_ingest
from sellers.validators import validate_seller_id, validate_upstream_id
from tests.factories import EmergencyContactFactory, SellerFactory, StoreFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 11, 23)
GOOD_ROW = {"seller_id": "A1", "date": "2026-11-20", "score": 300}
CHARACTER_SET = "letters, digits and . _ : -"


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel(dt.datetime(2026, 11, 23, 12, tzinfo=dt.UTC), tick=False):
        yield


@pytest.fixture
def seller():
    return SellerFactory(seller_id="A1")


def post_raw(client, path: str, items: object, *, raw: str | None = None):
    """Posts ``items`` as JSON text, escapes such as a lone surrogate as written; with
    ``raw``, the string ``"RAW"`` in them is replaced by that JSON text (a huge number)."""
    body = json.dumps(items)
    if raw is not None:
        body = body.replace('"RAW"', raw)
    return client.post(path, body, content_type="application/json")


def rejected(answer) -> dict[int, dict[str, list[str]]]:
    assert answer.status_code == 200, answer.content[:500]
    return {item["index"]: item["errors"] for item in answer.json()["rejected"]}


def stored_scores() -> dict[dt.date, int]:
    return dict(AccountHealthSnapshot.objects.values_list("date", "score"))


def violation(**overrides) -> dict:
    return {
        "upstream_id": "V-1",
        "seller_id": "A1",
        "policy_area": "late_shipment_rate",
        "severity": "high",
        "points": 40,
        "description": "Late shipment rate 6%",
        "opened_on": "2026-11-01",
        **overrides,
    }


# --- Item 5: huge numbers and lone surrogates --------------------------------------------


@pytest.mark.parametrize(
    "score",
    ['"' + "9" * 5_000 + '"', '"-' + "9" * 5_000 + '"', "9" * 5_000, "-" + "9" * 5_000],
    ids=["digits-text", "minus-digits-text", "digits-number", "minus-digits-number"],
)
def test_a_score_of_thousands_of_digits_is_refused_by_row_and_the_good_row_kept(
    upstream_api, seller, score
):
    bad = {**GOOD_ROW, "date": "2026-11-21", "score": "RAW"}
    answer = post_raw(upstream_api, "/api/v1/ahr/", [GOOD_ROW, bad], raw=score)
    errors = rejected(answer)
    assert list(errors) == [1]
    assert list(errors[1]) == ["score"]
    assert "is not a whole number from 0 to 1000" in errors[1]["score"][0]
    assert answer.json()["accepted"] == 1
    assert stored_scores() == {dt.date(2026, 11, 20): 300}


@pytest.mark.parametrize("field", ["seller_id", "date", "score"])
def test_a_lone_surrogate_in_an_ahr_row_is_refused_by_row_and_the_good_row_kept(
    upstream_api, seller, field
):
    bad = {**GOOD_ROW, "date": "2026-11-21", field: "\ud800"}
    # json.dumps writes the surrogate as the escape \ud800, as a client's bad encoder would.
    answer = post_raw(upstream_api, "/api/v1/ahr/", [GOOD_ROW, bad])
    assert list(rejected(answer)) == [1]
    assert list(rejected(answer)[1]) == [field]
    assert stored_scores() == {dt.date(2026, 11, 20): 300}


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("seller_id", "\ud800"),
        ("upstream_id", "V-\udfff"),
        ("description", "Late \ud83d shipments"),
        ("policy_area", "\ud800"),
        ("points", "9" * 5_000),
        ("points", int("9" * 4_000)),
    ],
    ids=["seller_id", "upstream_id", "description", "policy_area", "points-text", "points-big"],
)
def test_a_bad_violation_is_refused_by_index_and_the_good_one_kept(
    upstream_api, seller, field, value
):
    items = [violation(upstream_id="V-GOOD"), {**violation(upstream_id="V-BAD"), field: value}]
    answer = post_raw(upstream_api, "/api/v1/violations/", items)
    assert list(rejected(answer)) == [1]
    assert list(rejected(answer)[1]) == [field]
    assert list(Violation.objects.values_list("upstream_id", flat=True)) == ["V-GOOD"]


def test_a_violation_point_count_of_thousands_of_digits_as_a_json_number_is_refused(
    upstream_api, seller
):
    items = [violation(upstream_id="V-GOOD"), violation(upstream_id="V-BAD", points="RAW")]
    answer = post_raw(upstream_api, "/api/v1/violations/", items, raw="9" * 5_000)
    assert {index: list(errors) for index, errors in rejected(answer).items()} == {1: ["points"]}
    assert list(Violation.objects.values_list("upstream_id", flat=True)) == ["V-GOOD"]


@pytest.mark.parametrize("field", ["seller_id", "name", "email"])
def test_a_lone_surrogate_in_a_seller_is_a_400_naming_the_field(upstream_api, field):
    seller = {"seller_id": "A100", "name": "Acme", "store": "US", "account_type": "individual"}
    seller[field] = "a\ud800@example.test" if field == "email" else "A\ud800"
    answer = post_raw(upstream_api, "/api/v1/sellers/", seller)
    assert answer.status_code == 400, answer.content[:500]
    assert list(answer.json()["errors"]) == [field]
    assert not Seller.objects.exists()


# --- Item 6: one character set for seller ids and upstream ids ----------------------------

BAD_IDS = ["A/1", "../A1", "A 1", "A1?x", "A1#", "%2F", "-A1", ".A1", "Ä1", "A1\n2", "A" * 65]


@pytest.mark.parametrize("seller_id", BAD_IDS)
def test_a_seller_id_outside_the_character_set_is_refused_by_the_api(upstream_api, seller_id):
    seller = {"seller_id": seller_id, "name": "Acme", "store": "US", "account_type": "individual"}
    answer = upstream_api.post("/api/v1/sellers/", seller, format="json")
    assert answer.status_code == 400, answer.content[:500]
    assert list(answer.json()["errors"]) == ["seller_id"]
    assert not Seller.objects.exists()


@pytest.mark.parametrize("seller_id", ["A1", "A0000001", "S-MINE", "DEMO-US-001", "a.b_c:d-9"])
def test_seller_ids_in_the_character_set_are_taken(upstream_api, seller_id):
    seller = {"seller_id": seller_id, "name": "Acme", "store": "US", "account_type": "individual"}
    answer = upstream_api.post("/api/v1/sellers/", seller, format="json")
    assert answer.status_code == 201, answer.content[:500]
    assert upstream_api.get(f"/api/v1/sellers/{seller_id}/").status_code == 200


def test_a_seller_id_of_64_characters_is_taken_and_its_urls_work(upstream_api):
    seller_id = "A" * 64
    seller = {"seller_id": seller_id, "name": "Acme", "store": "US", "account_type": "individual"}
    assert upstream_api.post("/api/v1/sellers/", seller, format="json").status_code == 201
    assert upstream_api.get(f"/api/v1/sellers/{seller_id}/assurance/").status_code == 200


def test_the_feeds_name_a_seller_id_or_upstream_id_outside_the_character_set(upstream_api, seller):
    ahr = upstream_api.post(
        "/api/v1/ahr/", [GOOD_ROW, {**GOOD_ROW, "seller_id": "A1/x"}], format="json"
    )
    assert CHARACTER_SET in rejected(ahr)[1]["seller_id"][0]
    items = [
        violation(upstream_id="V-1"),
        violation(upstream_id="V/2"),
        violation(upstream_id="V-3", seller_id="A 1"),
    ]
    violations = upstream_api.post("/api/v1/violations/", items, format="json")
    errors = rejected(violations)
    assert sorted(errors) == [1, 2]
    assert CHARACTER_SET in errors[1]["upstream_id"][0]
    assert CHARACTER_SET in errors[2]["seller_id"][0]
    assert list(Violation.objects.values_list("upstream_id", flat=True)) == ["V-1"]


def test_a_case_upstream_id_outside_the_character_set_is_a_400_naming_it(upstream_api, seller):
    case = {
        "seller_id": "A1",
        "policy_area": "counterfeit",
        "severity": "critical",
        "summary": "Counterfeit complaint",
        "upstream_id": "AH/1",
    }
    answer = upstream_api.post("/api/v1/cases/", case, format="json")
    assert answer.status_code == 400, answer.content[:500]
    assert list(answer.json()["errors"]) == ["upstream_id"]
    assert CHARACTER_SET in answer.json()["errors"]["upstream_id"][0]


def test_the_openapi_schema_documents_the_character_set(client):
    schemas = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["components"]
    properties = {name: schema.get("properties", {}) for name, schema in schemas["schemas"].items()}
    seller_id = "^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
    upstream_id = "^[A-Za-z0-9][A-Za-z0-9._:-]{0,99}$"
    assert properties["SellerIn"]["seller_id"]["pattern"] == seller_id
    assert properties["AhrRow"]["seller_id"]["pattern"] == seller_id
    assert properties["ViolationRow"]["seller_id"]["pattern"] == seller_id
    assert properties["ViolationRow"]["upstream_id"]["pattern"] == upstream_id
    assert properties["CaseIn"]["upstream_id"]["pattern"] == upstream_id


def test_model_validators_refuse_bad_ids_in_admin_forms(seller):
    with pytest.raises(ValidationError) as refused:
        Seller(
            seller_id="A/1", name="Acme", store=StoreFactory(), account_type="individual"
        ).full_clean()
    assert list(refused.value.message_dict) == ["seller_id"]
    SellerForm = modelform_factory(Seller, fields=["seller_id", "name", "store", "account_type"])  # noqa: N806
    form = SellerForm(
        {"seller_id": "A/1", "name": "Acme", "store": seller.store.pk, "account_type": "individual"}
    )
    assert not form.is_valid()
    assert list(form.errors) == ["seller_id"]
    ViolationForm = modelform_factory(Violation, fields=["upstream_id"])  # noqa: N806
    form = ViolationForm({"upstream_id": "V 1"})
    assert not form.is_valid()
    assert list(form.errors) == ["upstream_id"]


def test_the_validators_allow_the_documented_set_and_lengths():
    validate_seller_id("A" * 64)
    validate_upstream_id("urn:ahr:V-2026.11_" + "9" * 82)
    for value in ["", "A" * 65, "A/1"]:
        with pytest.raises(ValidationError):
            validate_seller_id(value)
    with pytest.raises(ValidationError):
        validate_upstream_id("V" * 101)


# --- Item 9: dates beyond the horizon ----------------------------------------------------


def test_an_ahr_date_older_than_the_horizon_is_refused_by_row_and_cannot_age_a_seller(
    upstream_api,
):
    """Four months of good history, then one row for 0001-01-01: not six months old."""
    seller = SellerFactory(seller_id="A1")
    EmergencyContactFactory(seller=seller)
    start = TODAY - dt.timedelta(days=120)
    history = [
        {"seller_id": "A1", "date": (start + dt.timedelta(days=n)).isoformat(), "score": 600}
        for n in range(120)
    ]
    assert ahr_ingest(history, today=TODAY).rejected == []
    assert not AssuranceState.objects.get(seller=seller).enrolled

    rows = [
        {"seller_id": "A1", "date": "0001-01-01", "score": 600},
        {"seller_id": "A1", "date": TODAY.isoformat(), "score": 600},
    ]
    answer = upstream_api.post("/api/v1/ahr/", rows, format="json")
    errors = rejected(answer)
    assert list(errors) == [0]
    assert "more than 400 days ago" in errors[0]["date"][0]
    assert answer.json()["accepted"] == 1
    assert not AssuranceState.objects.get(seller=seller).enrolled
    assert min(stored_scores()) == start


def test_the_ahr_horizon_is_a_setting_and_its_last_day_is_taken(upstream_api, seller, settings):
    settings.AHA = {**settings.AHA, "AHR_MAX_AGE_DAYS": 30}
    rows = [
        {"seller_id": "A1", "date": (TODAY - dt.timedelta(days=30)).isoformat(), "score": 300},
        {"seller_id": "A1", "date": (TODAY - dt.timedelta(days=31)).isoformat(), "score": 300},
    ]
    errors = rejected(upstream_api.post("/api/v1/ahr/", rows, format="json"))
    assert list(errors) == [1]
    assert "more than 30 days ago" in errors[1]["date"][0]


def test_import_ahr_refuses_old_dates_and_bad_seller_ids_by_line(tmp_path: Path, seller):
    source = tmp_path / "ahr.csv"
    source.write_text(
        "\n".join(
            [
                "seller_id,date,score",
                "A1,2026-11-20,300",
                "A1,0001-01-01,300",
                "A1/x,2026-11-20,300",
                "A1,2026-11-21," + "9" * 5_000,
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    out = StringIO()
    call_command("import_ahr", str(source), stdout=out, stderr=StringIO())
    assert "accepted: 1  rejected: 3" in out.getvalue()
    with (tmp_path / "ahr.rejected.csv").open(newline="", encoding="utf-8") as handle:
        _header, *lines = list(csv.reader(handle))
    by_line = {int(line[0]): line[4] for line in lines}
    assert sorted(by_line) == [3, 4, 5]
    assert by_line[3].startswith("date: ")
    assert "more than 400 days ago" in by_line[3]
    assert by_line[4].startswith("seller_id: ")
    assert CHARACTER_SET in by_line[4]
    assert by_line[5].startswith("score: ")
    assert stored_scores() == {dt.date(2026, 11, 20): 300}
