"""The API's JSON parser (config.parsers): deep nesting, huge numbers and huge bodies are
refused as bad input (4xx problems), never a server error."""

import io
import json
import time
from decimal import Decimal

import pytest
from rest_framework.exceptions import ParseError

from config.errors import problem_type
from config.parsers import BodyTooLarge, JSONParser
from config.problem_details import PROBLEM_JSON
from tests.builders import open_case

pytestmark = pytest.mark.django_db

# About 950 levels in 2 KB: deep enough to exhaust Python's recursion in json.loads.
DEEP = "[" * 950 + "]" * 950


def parse(text: str | bytes):
    body = text.encode() if isinstance(text, str) else text
    return JSONParser().parse(io.BytesIO(body), "application/json", {})


@pytest.fixture
def seller_case(seller_api):
    return open_case(seller_api.seller)


@pytest.mark.parametrize(
    ("client_name", "path"),
    [
        ("upstream_api", "/api/v1/ahr/"),
        ("upstream_api", "/api/v1/violations/"),
        ("upstream_api", "/api/v1/sellers/"),
        ("upstream_api", "/api/v1/cases/"),
        ("specialist_api", "/api/v1/cases/"),
        ("seller_api", "/api/v1/cases/{case}/transitions/contact/"),
        ("specialist_api", "/api/v1/cases/{case}/notes/"),
        ("manager_api", "/api/v1/cases/{case}/assignment/"),
    ],
)
def test_json_nested_deeper_than_the_limit_is_a_400_on_every_json_endpoint(
    request, client_name, path, seller_case
):
    client = request.getfixturevalue(client_name)
    body = '{"reason": ' + DEEP + "}"
    assert len(body) < 2_000
    answer = client.post(path.format(case=seller_case.pk), body, content_type="application/json")
    assert answer.status_code == 400, answer.content[:300]
    assert answer["Content-Type"] == PROBLEM_JSON
    problem = answer.json()
    assert problem["type"] == problem_type("malformed-body")
    assert "nested deeper than 32 levels" in problem["detail"]


def test_nesting_up_to_the_limit_is_parsed_and_the_limit_is_a_setting(settings):
    deepest = "[" * 32 + "]" * 32
    assert parse(deepest) == json.loads(deepest)
    with pytest.raises(ParseError, match="nested deeper than 32 levels"):
        parse("[" * 33 + "]" * 33)
    settings.AHA = {**settings.AHA, "JSON_MAX_DEPTH": 3}
    assert parse('{"a": [{"b": 1}]}') == {"a": [{"b": 1}]}
    with pytest.raises(ParseError, match="nested deeper than 3 levels"):
        parse('{"a": [{"b": [1]}]}')


@pytest.mark.parametrize(
    "text",
    [
        # Brackets inside strings are text, escaped quotes included.
        json.dumps({"note": "[" * 5_000 + '"\\' + "{" * 5_000}),
        json.dumps(["]" * 100, "[" * 100, {"k[": "v{"}]),
    ],
)
def test_brackets_inside_strings_are_not_nesting(text):
    assert parse(text) == json.loads(text)


@pytest.mark.parametrize(
    "text",
    ['["' + "[" * 2_000, '"' + '\\"' * 200_000, '{"a": "' + "[" * 2_000],
    ids=["brackets", "escaped-quotes", "in-an-object"],
)
def test_a_string_that_never_ends_is_a_parse_error_at_once(text):
    """The decoder fails at such a string before any nesting after it; the scan is linear."""
    started = time.monotonic()
    with pytest.raises(ParseError, match="Unterminated string"):
        parse(text)
    assert time.monotonic() - started < 1


def test_a_number_too_long_for_int_is_kept_as_a_decimal_for_the_row_checks_to_refuse():
    [row] = parse('[{"score": ' + "9" * 5_000 + "}]")
    assert row["score"] == Decimal("9" * 5_000)
    assert parse('{"score": 250}') == {"score": 250}


def test_a_body_larger_than_the_limit_is_413_before_it_is_parsed(upstream_api, settings):
    settings.AHA = {**settings.AHA, "JSON_MAX_BODY_BYTES": 1_000}
    with pytest.raises(BodyTooLarge):
        parse(json.dumps(["x" * 1_000]))
    answer = upstream_api.post(
        "/api/v1/ahr/", json.dumps([{"seller_id": "x" * 2_000}]), content_type="application/json"
    )
    assert answer.status_code == 413
    assert answer["Content-Type"] == PROBLEM_JSON
    assert "at most 1,000 bytes" in answer.json()["detail"]


def test_malformed_json_is_still_a_400_problem(upstream_api):
    answer = upstream_api.post("/api/v1/ahr/", "[{", content_type="application/json")
    assert answer.status_code == 400
    assert answer.json()["type"] == problem_type("malformed-body")
