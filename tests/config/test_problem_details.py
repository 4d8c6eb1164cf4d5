"""RFC 9457 problem details: the domain errors, the API's one handler, the pages' helper."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpResponse
from django.urls import path
from rest_framework import exceptions
from rest_framework.test import APIClient

from config import urls as project_urls
from config.errors import Conflict, DomainError, Forbidden, InvalidInput, NotFound, problem_type
from config.problem_details import (
    PROBLEM_JSON,
    exception_handler,
    problem_response,
    renders_problems,
)
from tests.factories import SpecialistFactory

# --- The domain errors --------------------------------------------------------------


def test_each_domain_error_carries_its_http_meaning():
    conflict = Conflict("The case moved on.", status="contacted", allowed=["escalate"])
    assert conflict.problem() == {
        "type": "https://aha-desk.example/problems/conflict",
        "title": "Not possible now",
        "status": 409,
        "detail": "The case moved on.",
        "state": "contacted",
        "allowed": ["escalate"],
    }
    assert [(e.status_code, e.problem()["type"]) for e in (Forbidden(), NotFound())] == [
        (403, problem_type("forbidden")),
        (404, problem_type("not-found")),
    ]
    assert Forbidden().detail == "Not allowed"


def test_invalid_input_names_each_field_and_is_also_a_django_validation_error():
    error = InvalidInput({"assigned_to": "ghost is not a specialist.", "due_on": ["Too late."]})
    assert error.problem()["errors"] == {
        "assigned_to": ["ghost is not a specialist."],
        "due_on": ["Too late."],
    }
    assert error.detail == "assigned_to: ghost is not a specialist.; due_on: Too late."
    assert str(error) == error.detail
    assert isinstance(error, ValidationError)
    assert error.message_dict == error.errors
    assert isinstance(Forbidden("no"), PermissionDenied)
    assert isinstance(NotFound("no"), Http404)


# --- The API's handler --------------------------------------------------------------


def handled(exc):
    response = exception_handler(exc, {"request": None})
    assert response.content_type == PROBLEM_JSON
    return response


def test_throttled_is_429_with_retry_after():
    response = handled(exceptions.Throttled(wait=30))
    assert response.status_code == 429
    assert response["Retry-After"] == "30"
    assert response.data["type"] == problem_type("throttled")
    assert response.data["retry_after"] == 30


def test_djangos_own_exceptions_become_problems():
    invalid = handled(ValidationError({"__all__": ["Pick one."], "text": ["Say something."]}))
    assert (invalid.status_code, invalid.data["errors"]) == (
        400,
        {"non_field_errors": ["Pick one."], "text": ["Say something."]},
    )
    plain = handled(ValidationError("Wrong."))
    assert plain.data["errors"] == {"non_field_errors": ["Wrong."]}
    assert handled(PermissionDenied("Managers only.")).data == {
        "type": problem_type("forbidden"),
        "title": "Not allowed",
        "status": 403,
        "detail": "Managers only.",
    }
    assert handled(Http404()).data["type"] == problem_type("not-found")


def test_errors_of_a_list_body_are_keyed_by_index():
    response = handled(exceptions.ValidationError([{}, {"score": ["Too high."]}]))
    assert response.data["errors"] == {"1": {"score": ["Too high."]}}


def test_an_unexpected_exception_is_left_to_django_as_a_500():
    assert exception_handler(RuntimeError("boom"), {"request": None}) is None


@pytest.mark.django_db
def test_anonymous_gets_a_401_problem_with_the_token_challenge():
    response = APIClient().get("/api/v1/cases/")
    assert response.status_code == 401
    assert response["Content-Type"] == PROBLEM_JSON
    assert response["WWW-Authenticate"] == "Token"
    assert response.json()["type"] == problem_type("not-authenticated")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("call", "status_code", "kind"),
    [
        (lambda api: api.delete("/api/v1/cases/"), 405, "method-not-allowed"),
        (
            lambda api: api.post("/api/v1/cases/", "{bad", content_type="application/json"),
            400,
            "malformed-body",
        ),
        (
            lambda api: api.post("/api/v1/cases/", "text", content_type="text/plain"),
            415,
            "unsupported-media-type",
        ),
        (
            lambda api: api.get("/api/v1/cases/", HTTP_ACCEPT="application/xml"),
            406,
            "not-acceptable",
        ),
    ],
)
def test_drfs_refusals_are_problems_too(specialist_api, call, status_code, kind):
    response = call(specialist_api)
    assert response.status_code == status_code
    assert response["Content-Type"] == PROBLEM_JSON
    body = response.json()
    assert (body["type"], body["status"]) == (problem_type(kind), status_code)
    assert body["title"]
    assert body["detail"]


@pytest.mark.django_db
def test_a_person_in_the_browsable_api_gets_an_html_page(client):
    client.force_login(SpecialistFactory().user)
    response = client.get("/api/v1/cases/999999/", HTTP_ACCEPT="text/html")
    assert response.status_code == 404
    assert response["Content-Type"].startswith("text/html")
    assert b"not yours to see" in response.content


# --- Pages ----------------------------------------------------------------------------


ERRORS = {
    "conflict": Conflict("This case is resolved.", status="resolved", allowed=["reinstate_x"]),
    "forbidden": Forbidden("Only managers assign cases."),
    "invalid": InvalidInput({"due_on": "Enter a date."}),
    "missing": NotFound("No such case."),
}


@renders_problems
def decorated_view(request, kind):
    raise ERRORS[kind]


def plain_view(request, kind):
    if kind == "fine":
        return HttpResponse("fine")
    raise ERRORS[kind]


urlpatterns = [
    path("tiny/decorated/<str:kind>/", decorated_view),
    path("tiny/plain/<str:kind>/", plain_view),
    *project_urls.urlpatterns,
]


@pytest.fixture
def problem_pages(settings):
    settings.ROOT_URLCONF = __name__


@pytest.mark.django_db
@pytest.mark.usefixtures("problem_pages")
@pytest.mark.parametrize("way", ["decorated", "plain"])
@pytest.mark.parametrize(
    ("kind", "status_code", "shown"),
    [
        ("conflict", 409, ["Not possible now", "This case is resolved.", "reinstate x"]),
        ("invalid", 400, ["Invalid input", "due_on", "Enter a date."]),
    ],
)
def test_a_domain_error_in_a_page_view_is_a_page_with_its_status(
    client, way, kind, status_code, shown
):
    response = client.get(f"/tiny/{way}/{kind}/")
    assert response.status_code == status_code
    assert response.templates[0].name == "errors/problem.html"
    assert "base.html" in [template.name for template in response.templates]
    page = response.content.decode()
    for text in shown:
        assert text in page


@pytest.mark.django_db
@pytest.mark.usefixtures("problem_pages")
@pytest.mark.parametrize("way", ["decorated", "plain"])
@pytest.mark.parametrize(
    ("kind", "status_code", "template", "shown"),
    [
        ("forbidden", 403, "403.html", "You can’t open this page"),
        ("missing", 404, "404.html", "There is nothing at this address."),
    ],
)
def test_a_refusal_or_a_missing_page_gets_the_sites_own_page(
    client, way, kind, status_code, template, shown
):
    response = client.get(f"/tiny/{way}/{kind}/")
    assert response.status_code == status_code
    assert response.templates[0].name == template
    assert shown in response.content.decode()


@pytest.mark.django_db
@pytest.mark.usefixtures("problem_pages")
def test_a_script_asking_for_json_gets_the_problem_body_from_a_page(client):
    response = client.get("/tiny/plain/conflict/", HTTP_ACCEPT="application/json")
    assert response.status_code == 409
    assert response["Content-Type"] == PROBLEM_JSON
    assert response.json()["allowed"] == ["reinstate_x"]


@pytest.mark.django_db
@pytest.mark.usefixtures("problem_pages")
def test_the_middleware_leaves_other_answers_alone(client):
    assert client.get("/tiny/plain/fine/").content == b"fine"


def test_problem_response_takes_any_domain_error(rf):
    class Expired(DomainError):
        status_code = 410
        title = "Expired"
        type = problem_type("expired")

    request = rf.get("/", HTTP_ACCEPT="application/problem+json")
    response = problem_response(request, Expired("The link expired."))
    assert response.status_code == 410
    assert response["Content-Type"] == PROBLEM_JSON
