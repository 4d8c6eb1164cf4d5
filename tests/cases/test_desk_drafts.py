"""What a specialist types on the case page is kept: past due dates, contact evidence, drafts."""

import datetime as dt

import pytest
import time_machine
from django.contrib.messages import get_messages

from cases.models import Case, CaseEvent, RemediationStep
from cases.services import case_transition, remediation_step_add
from config.errors import InvalidInput
from tests.builders import api_client
from tests.factories import CaseFactory, SpecialistFactory

NOW = dt.datetime(2026, 3, 15, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def clock(request):
    if request.node.get_closest_marker("browser"):
        yield None
        return
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def specialist():
    return SpecialistFactory(user__username="sam").user


def open_case(specialist) -> Case:
    return CaseFactory(
        assured=True,
        reach_deadline=NOW + dt.timedelta(hours=30),
        opened_at=NOW - dt.timedelta(hours=42),
        assigned_to=specialist,
    )


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


# --- 15: no plan step due in the past ------------------------------------------------------


@pytest.mark.django_db
def test_a_step_due_in_the_past_is_refused_naming_due_on(specialist):
    case = open_case(specialist)
    with pytest.raises(InvalidInput) as refused:
        remediation_step_add(
            case_id=case.pk, by=specialist, text="Fix", owner="seller", due_on="2020-01-01"
        )
    assert "due_on" in refused.value.errors
    assert not RemediationStep.objects.exists()
    today = remediation_step_add(
        case_id=case.pk, by=specialist, text="Fix", owner="seller", due_on=dt.date(2026, 3, 15)
    )
    assert today.due_on == dt.date(2026, 3, 15)


@pytest.mark.django_db
def test_the_desk_form_shows_a_past_due_date_refused(client, specialist):
    case = open_case(specialist)
    client.force_login(specialist)
    response = client.post(
        f"/desk/cases/{case.pk}/steps/",
        {"text": "Refund the buyers", "owner": "seller", "due_on": "2020-01-01"},
    )
    assert response.status_code == 200
    content = response.content.decode()
    assert "cannot be in the past" in content
    assert "Refund the buyers" in content  # what was typed stays on the form
    assert not RemediationStep.objects.exists()


@pytest.mark.django_db
def test_the_api_refuses_a_past_due_date(specialist):
    case = open_case(specialist)
    response = api_client(specialist, name="desk").post(
        f"/api/v1/cases/{case.pk}/steps/",
        {"text": "Remove listing", "owner": "seller", "due_on": "2020-01-01"},
        format="json",
    )
    assert response.status_code == 400
    assert "due_on" in response.json()["errors"]
    assert not RemediationStep.objects.exists()


# --- 18: recording contact asks for the channel and the evidence ------------------------


def contact_event(case: Case) -> CaseEvent:
    return case.events.get(kind=CaseEvent.Kind.TRANSITION, transition="contact")


@pytest.mark.django_db
def test_the_desk_records_contact_with_its_channel_and_evidence(client, specialist):
    case = open_case(specialist)
    client.force_login(specialist)
    page = client.get(f"/desk/cases/{case.pk}/").content.decode()
    assert 'name="channel"' in page
    assert 'name="evidence"' in page
    response = client.post(
        f"/desk/cases/{case.pk}/transitions/contact/",
        {"channel": "phone", "evidence": "Seller called back from the number on file."},
        follow=True,
    )
    assert messages_of(response) == ["The case was contacted."]
    assert contact_event(case).reason == (
        "Channel: phone. Evidence: Seller called back from the number on file."
    )
    assert "Channel: phone. Evidence: Seller called back" in response.content.decode()


@pytest.mark.django_db
def test_the_api_records_contact_with_its_channel_and_evidence(specialist):
    case = open_case(specialist)
    response = api_client(specialist, name="desk").post(
        f"/api/v1/cases/{case.pk}/transitions/contact/",
        {"channel": "email", "evidence": "Reply from seller@example.com"},
        format="json",
    )
    assert response.status_code == 200, response.json()
    assert contact_event(case).reason == "Channel: email. Evidence: Reply from seller@example.com"


@pytest.mark.django_db
def test_an_unknown_channel_is_refused_naming_it(specialist):
    case = open_case(specialist)
    response = api_client(specialist, name="desk").post(
        f"/api/v1/cases/{case.pk}/transitions/contact/", {"channel": "pigeon"}, format="json"
    )
    assert response.status_code == 400
    assert "channel" in response.json()["errors"]
    with pytest.raises(InvalidInput):
        case_transition(case_id=case.pk, name="contact", by=specialist, evidence="x" * 1_001)
    case.refresh_from_db()
    assert case.status == Case.Status.OPENED


@pytest.mark.django_db
def test_the_reason_textarea_has_a_maxlength(client, specialist):
    case = open_case(specialist)
    client.force_login(specialist)
    page = client.get(f"/desk/cases/{case.pk}/").content.decode()
    assert 'id="reason-escalate" name="reason" rows="2" maxlength="2000"' in page


# --- 16: what is typed in one form survives submitting another ---------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_note_being_written_survives_adding_a_plan_step(browser_page):
    from django.utils import timezone

    sam = SpecialistFactory(user__username="sam").user
    now = timezone.now()
    case = CaseFactory(
        assured=True,
        reach_deadline=now + dt.timedelta(hours=30),
        opened_at=now - dt.timedelta(hours=42),
        assigned_to=sam,
    )
    page = browser_page
    page.goto("/")
    page.fill("#id_username", "sam")
    page.fill("#id_password", "correct-horse-battery")
    page.click("button[type=submit]")
    page.goto(f"/desk/cases/{case.pk}/")

    page.get_by_label("Note", exact=True).fill("Seller says the supplier invoice is on its way")
    page.get_by_label("Reason to escalate").fill("Half-written reason")
    page.get_by_label("Step", exact=True).fill("Remove the listing")
    page.get_by_label("Owner").select_option(label="Seller")
    page.get_by_role("button", name="Add step").click()

    assert page.get_by_role("status").inner_text() == "Plan step added."
    assert "Remove the listing" in page.get_by_test_id("plan").inner_text()
    assert page.get_by_label("Note", exact=True).input_value() == (
        "Seller says the supplier invoice is on its way"
    )
    assert page.get_by_label("Reason to escalate").input_value() == "Half-written reason"
    # The step was added: its draft is gone, the form is fresh.
    assert page.get_by_label("Step", exact=True).input_value() == ""

    # A refused step keeps what was typed, and the other drafts stay too.
    page.get_by_label("Step", exact=True).fill("Appeal")
    page.get_by_label("Due on").fill("2020-01-01")
    page.get_by_role("button", name="Add step").click()
    assert "cannot be in the past" in page.locator("#plan").inner_text()
    assert page.get_by_label("Step", exact=True).input_value() == "Appeal"
    assert page.get_by_label("Note", exact=True).input_value() == (
        "Seller says the supplier invoice is on its way"
    )

    page.get_by_role("button", name="Add note").click()
    assert page.get_by_role("status").inner_text() == "Note added."
    assert page.get_by_label("Note", exact=True).input_value() == ""
    assert page.get_by_label("Step", exact=True).input_value() == "Appeal"
