"""Length limits of what people and systems write on a case (issue 9, item 10).

Each limit is the model field's ``max_length``: the API answers 400 naming the field
beyond it, the OpenAPI schema says ``maxLength``, and the desk's forms carry the same
``maxlength`` and keep what was typed when they refuse it.
"""

import pytest
from django.utils.html import escape

from cases.forms import NewCaseForm, NoteForm, RemediationStepForm
from cases.models import Case, CaseEvent, CaseNote, RemediationStep
from sellers.models import Violation
from tests.builders import open_case
from tests.factories import SellerFactory, SpecialistFactory

pytestmark = pytest.mark.django_db

LIMITS = {
    (Case, "summary"): 300,
    (Case, "evidence"): 20_000,
    (Case, "resolution_reason"): 2_000,
    (Case, "escalation_note"): 2_000,
    (CaseNote, "text"): 10_000,
    (RemediationStep, "text"): 500,
    (Violation, "description"): 5_000,
}
TWO_MB = 2 * 1024 * 1024


@pytest.fixture
def seller():
    return SellerFactory(seller_id="S1")


@pytest.fixture
def case(seller):
    return open_case(seller)


def new_case(**overrides) -> dict:
    return {
        "seller_id": "S1",
        "policy_area": "counterfeit",
        "severity": "critical",
        "summary": "Counterfeit complaint on ASIN B00X",
        **overrides,
    }


def assert_names(answer, field: str, limit: int) -> None:
    assert answer.status_code == 400, answer.content[:300]
    errors = answer.json()["errors"]
    assert list(errors) == [field]
    assert f"no more than {limit} characters" in errors[field][0]


@pytest.mark.parametrize(("model_field", "limit"), LIMITS.items(), ids=str)
def test_each_text_field_has_its_limit_on_the_model(model_field, limit):
    model, name = model_field
    field = model._meta.get_field(name)
    assert field.max_length == limit
    assert field.formfield().max_length == limit  # admin forms refuse more, too


def test_an_escalation_reason_of_100_000_characters_is_a_400_naming_reason(specialist_api, case):
    path = f"/api/v1/cases/{case.pk}/transitions/escalate/"
    answer = specialist_api.post(path, {"reason": "x" * 100_000}, format="json")
    assert_names(answer, "reason", 2_000)
    case.refresh_from_db()
    assert case.status == Case.Status.OPENED
    ok = specialist_api.post(path, {"reason": "x" * 2_000}, format="json")
    assert ok.status_code == 200, ok.content[:300]
    case.refresh_from_db()
    assert case.escalation_note == "x" * 2_000


def test_the_desk_refuses_an_over_long_reason_and_changes_nothing(client, case):
    client.force_login(SpecialistFactory().user)
    answer = client.post(
        f"/desk/cases/{case.pk}/transitions/escalate/", {"reason": "x" * 2_001}, follow=True
    )
    assert answer.status_code == 200
    assert "no more than 2000 characters" in answer.content.decode()
    case.refresh_from_db()
    assert case.status == Case.Status.OPENED
    assert not CaseEvent.objects.filter(case=case, to_status="escalated").exists()


def test_two_megabytes_of_evidence_is_a_400_naming_evidence(upstream_api, seller):
    answer = upstream_api.post("/api/v1/cases/", new_case(evidence="x" * TWO_MB), format="json")
    assert_names(answer, "evidence", 20_000)
    assert not Case.objects.exists()
    ok = upstream_api.post("/api/v1/cases/", new_case(evidence="x" * 20_000), format="json")
    assert ok.status_code == 201, ok.content[:300]


def test_a_summary_longer_than_the_column_is_a_400_naming_summary(upstream_api, seller):
    answer = upstream_api.post("/api/v1/cases/", new_case(summary="x" * 301), format="json")
    assert_names(answer, "summary", 300)


def test_notes_and_steps_beyond_their_limits_are_400s_naming_text(specialist_api, case):
    note = specialist_api.post(
        f"/api/v1/cases/{case.pk}/notes/", {"text": "x" * 10_001}, format="json"
    )
    assert_names(note, "text", 10_000)
    step = {"text": "x" * 501, "owner": "seller", "due_on": "2099-01-31"}
    answer = specialist_api.post(f"/api/v1/cases/{case.pk}/steps/", step, format="json")
    assert_names(answer, "text", 500)
    assert not CaseNote.objects.exists()
    assert not RemediationStep.objects.exists()


def test_the_openapi_schema_documents_each_limit(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    components = schema["components"]["schemas"]

    def max_length(component: str, field: str) -> int | None:
        return components[component]["properties"][field].get("maxLength")

    assert max_length("CaseIn", "evidence") == 20_000
    assert max_length("CaseIn", "summary") == 300
    assert max_length("TransitionIn", "reason") == 2_000
    assert max_length("CaseNoteIn", "text") == 10_000
    assert max_length("RemediationStepIn", "text") == 500
    assert max_length("ViolationRow", "description") == 5_000


@pytest.mark.parametrize(
    ("form_class", "field", "limit"),
    [
        (NoteForm, "text", 10_000),
        (RemediationStepForm, "text", 500),
        (NewCaseForm, "summary", 300),
        (NewCaseForm, "evidence", 20_000),
    ],
)
def test_the_desk_forms_carry_the_same_limits(form_class, field, limit):
    form = form_class()
    assert form.fields[field].max_length == limit
    assert f'maxlength="{limit}"' in str(form[field])


def test_an_over_long_note_on_the_desk_is_refused_keeping_what_was_typed(client, case):
    client.force_login(SpecialistFactory().user)
    typed = "Called twice & left a message. " * 400  # 12,400 characters
    answer = client.post(f"/desk/cases/{case.pk}/notes/", {"text": typed})
    assert answer.status_code == 200
    page = answer.content.decode()
    assert "at most 10000 characters" in page
    assert escape(typed) in page
    assert not CaseNote.objects.exists()


def test_over_long_evidence_on_the_new_case_page_is_refused_keeping_what_was_typed(client, seller):
    client.force_login(SpecialistFactory().user)
    typed = "Buyer photos <1> " * 1_500  # 25,500 characters
    answer = client.post("/desk/cases/new/", new_case(evidence=typed))
    assert answer.status_code == 200
    page = answer.content.decode()
    assert "at most 20000 characters" in page
    assert escape(typed) in page
    assert not Case.objects.exists()
