"""The API keeps its own contract: schemathesis over every operation of ``/api/v1/``.

The schema is drf-spectacular's (what ``/api/schema/`` serves); schemathesis generates
requests from it, sends them in-process to the WSGI app (``config.wsgi``) with the
token of an upstream system, a specialist, a manager and a seller, and fails on a 5xx,
a status code the schema does not list, or a body or content type that breaks it.
Bounded and derandomized: the same few examples per operation on every run, no shrinking.
"""

from collections.abc import Iterator

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from drf_spectacular.generators import SchemaGenerator
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from tests.builders import enrolled_seller, open_case

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]

# The fuzzing phase only (examples from the schema, then generated ones): the coverage
# phase's hundreds of boundary cases per operation would take minutes.
config = SchemathesisConfig.from_dict(
    {"phases": {"coverage": {"enabled": False}}, "generation": {"deterministic": True}}
)
schema = schemathesis.openapi.from_dict(
    SchemaGenerator().get_schema(request=None, public=True), config=config
)
schema.app = application


@pytest.fixture
def in_test_transaction() -> Iterator[None]:
    """The WSGI app closes "old" connections around each request; inside the test's
    transaction that would break it (Django's test client unhooks the same signals)."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture(params=["upstream", "specialist", "manager", "seller"])
def token_header(request: pytest.FixtureRequest, in_test_transaction: None) -> dict[str, str]:
    """The raw ``Authorization`` header of one role, with rows for path parameters to
    hit: seller ``S-MINE`` (the seller token's own) with a case, and another seller's."""
    client = request.getfixturevalue(f"{request.param}_api")
    mine = getattr(client, "seller", None) or enrolled_seller(seller_id="S-MINE")
    open_case(mine)
    open_case(enrolled_seller(seller_id="S-OTHER"))
    return {"Authorization": client._credentials["HTTP_AUTHORIZATION"]}


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=15,
    derandomize=True,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_keeps_its_schema(case, token_header: dict[str, str]) -> None:
    case.call_and_validate(headers=token_header, checks=CHECKS)


# --- What the schema says, checked directly ------------------------------------------

RAW_SCHEMA = schema.raw_schema
LISTS = ["/api/v1/cases/", "/api/v1/sellers/", "/api/v1/sellers/{seller_id}/violations/"]


def _component(ref: str) -> dict:
    return RAW_SCHEMA["components"]["schemas"][ref.removeprefix("#/components/schemas/")]


@pytest.mark.parametrize("path", LISTS)
def test_a_list_is_documented_as_a_page_with_limit_and_offset(path: str) -> None:
    operation = RAW_SCHEMA["paths"][path]["get"]
    page = _component(
        operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    )
    assert {"count", "next", "previous", "results"} <= set(page["properties"])
    assert {"limit", "offset"} <= {parameter["name"] for parameter in operation["parameters"]}


def test_every_4xx_of_every_operation_is_a_problem() -> None:
    for path, operations in RAW_SCHEMA["paths"].items():
        for method, operation in operations.items():
            fourxx = {code: r for code, r in operation["responses"].items() if code[0] == "4"}
            assert {"401"} <= set(fourxx), (method, path)
            for code, response in fourxx.items():
                assert list(response["content"]) == ["application/problem+json"], (path, code)


def test_required_strings_of_request_bodies_may_not_be_blank() -> None:
    case_in = RAW_SCHEMA["components"]["schemas"]["CaseIn"]["properties"]
    assert case_in["summary"]["minLength"] == 1
    assert case_in["seller_id"]["minLength"] == 1
    assert RAW_SCHEMA["components"]["schemas"]["CaseNoteIn"]["properties"]["text"]["minLength"] == 1


@pytest.mark.parametrize("path", ["/api/v1/ahr/", "/api/v1/violations/"])
def test_the_feeds_take_json_only(upstream_api, path: str) -> None:
    body = RAW_SCHEMA["paths"][path]["post"]["requestBody"]["content"]
    assert list(body) == ["application/json"]
    response = upstream_api.post(path, {"seller_id": "S-1", "score": "900"}, format="multipart")
    assert response.status_code == 415
    assert response["Content-Type"] == "application/problem+json"
    response = upstream_api.post(
        path, "seller_id=S-1", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 415


def test_an_api_url_that_matches_nothing_is_a_404_problem(specialist_api) -> None:
    response = specialist_api.get("/api/v1/cases/not-a-number/")
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["status"] == 404


def test_a_nul_in_a_seller_id_is_a_400_not_a_database_error(upstream_api) -> None:
    """Found by schemathesis on PostgreSQL (text cannot hold NUL): a 500 before."""
    body = {"seller_id": "S-\x00", "policy_area": "other_policy", "severity": "low"}
    response = upstream_api.post("/api/v1/cases/", {**body, "summary": "x"}, format="json")
    assert response.status_code == 400
    assert "seller_id" in response.json()["errors"]


def test_a_nul_in_a_store_or_a_seller_url_is_a_4xx_not_a_database_error(upstream_api) -> None:
    seller = {"seller_id": "S-1", "name": "n", "store": "U\x00", "account_type": "individual"}
    response = upstream_api.post("/api/v1/sellers/", seller, format="json")
    assert response.status_code == 400
    assert "store" in response.json()["errors"]
    assert upstream_api.get("/api/v1/sellers/S%00/").status_code == 404


def test_a_nul_in_an_assignee_is_a_400_not_a_database_error(manager_api) -> None:
    case = open_case(enrolled_seller(seller_id="S-NUL"))
    url = f"/api/v1/cases/{case.pk}/assignment/"
    response = manager_api.post(url, {"assigned_to": "ana\x00"}, format="json")
    assert response.status_code == 400
    assert "assigned_to" in response.json()["errors"]
