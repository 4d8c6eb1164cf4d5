"""Cases in Django admin: nothing there bypasses the rules or the audit trail (issue 9, item 1).

Rule-bearing fields (seller, status, assurance, deadlines, timers, upstream id, the
assignee) are read-only for everybody; managers reassign through ``case_assign`` and
correct the descriptive fields through ``case_correct``, each change an event. Delete is
not offered where the model refuses it, an unknown transition is a 404, and titles name
the seller by the marketplace's id.
"""

import re

import pytest
from django.test import Client

from accounts.roles import Role
from cases.models import Case, CaseEvent
from cases.services import case_add_note, case_correct, remediation_step_add
from config.errors import Forbidden, InvalidInput
from sellers.models import AccountHealthSnapshot, AssuranceState, EnrollmentEvent
from tests.builders import open_assured_case
from tests.factories import (
    AdminFactory,
    PhoneVerificationFactory,
    SellerFactory,
    SpecialistFactory,
    UserFactory,
    ViolationFactory,
)

pytestmark = pytest.mark.django_db

RULE_BEARING = [
    "seller_id",
    "status",
    "assured",
    "upstream_id",
    "assigned_to_id",
    "opened_at",
    "reach_deadline",
    "first_attempt_at",
    "contacted_at",
    "sla_met",
    "next_action_at",
    "outreach_started_at",
    "call_rounds",
    "deadline_warnings",
]
DESCRIPTIVE = ["summary", "evidence", "severity", "policy_area"]


@pytest.fixture
def specialist():
    """The on-duty specialist the case is assigned to when it opens."""
    return SpecialistFactory().user


@pytest.fixture
def case(specialist) -> Case:
    case = open_assured_case(seller={"seller_id": "A-SOL"}, upstream_id="UP-SOL-1")
    assert case.assigned_to == specialist
    return case


@pytest.fixture
def colleague():
    return SpecialistFactory().user


@pytest.fixture
def manager():
    return UserFactory(role=Role.MANAGER)


@pytest.fixture
def seller_login(case):
    login = UserFactory(role=Role.SELLER)
    case.seller.users.add(login)
    return login


def logged_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def change_url(case: Case) -> str:
    return f"/admin/cases/case/{case.pk}/change/"


def form_data(page) -> dict:
    """What a browser sends back from the admin change form as it was rendered."""
    data: dict = {}

    def add(form) -> None:
        for name in form.fields:
            value = form[name].value()
            if value is None or value is False:
                continue
            data[form.add_prefix(name)] = "on" if value is True else value

    add(page.context["adminform"].form)
    for inline in page.context["inline_admin_formsets"]:
        add(inline.formset.management_form)
        for form in inline.formset.forms:
            add(form)
    return data


def post_change(client: Client, case: Case, **changes: object):
    page = client.get(change_url(case))
    assert page.status_code == 200
    return client.post(change_url(case), {**form_data(page), **changes})


def row(case: Case, fields: list[str]) -> dict:
    return Case.objects.filter(pk=case.pk).values(*fields).get()


def trail(case: Case) -> list[tuple]:
    return list(case.events.order_by("pk").values_list("pk", "kind", "actor_id", "reason"))


# --- rule-bearing fields: read-only for everybody ------------------------------------


@pytest.mark.parametrize("who", ["specialist", "manager", "admin"])
def test_no_one_rewrites_a_rule_bearing_field_of_a_case_in_admin(
    case, who, specialist, manager, seller_login
):
    user = {"specialist": specialist, "manager": manager, "admin": AdminFactory()}[who]
    other = SellerFactory(seller_id="A-OTHER")
    before, events = row(case, RULE_BEARING), trail(case)
    forged = {
        "seller": other.pk,
        "assigned_to": seller_login.pk,
        "upstream_id": "HIJACKED",
        "status": "resolved",
        "assured": "",
        "call_rounds": "9",
        "reach_deadline_0": "2099-01-01",
        "reach_deadline_1": "00:00:00",
    }
    response = post_change(logged_in(user), case, **forged)
    assert response.status_code in {200, 302}
    assert row(case, RULE_BEARING) == before
    assert trail(case) == events


def test_a_specialist_may_not_correct_the_descriptive_fields(case, specialist):
    before, events = row(case, DESCRIPTIVE), trail(case)
    page = logged_in(specialist).get(change_url(case))
    assert not set(DESCRIPTIVE) & set(page.context["adminform"].form.fields)
    post_change(
        logged_in(specialist),
        case,
        summary="Rewritten",
        evidence="None",
        severity="low",
        policy_area="counterfeit",
    )
    assert row(case, DESCRIPTIVE) == before
    assert trail(case) == events


def test_a_manager_corrects_the_summary_and_the_trail_says_before_and_after(case, manager):
    old_summary = case.summary
    response = post_change(logged_in(manager), case, summary="Late shipment rate 6.2%")
    assert response.status_code == 302, response.context and response.context["errors"]
    case.refresh_from_db()
    assert case.summary == "Late shipment rate 6.2%"
    event = case.events.get(kind=CaseEvent.Kind.CORRECTION)
    assert event.actor == manager
    assert "summary" in event.reason
    assert old_summary in event.reason
    assert "Late shipment rate 6.2%" in event.reason


def test_saving_an_unchanged_case_writes_no_correction(case, manager):
    events = trail(case)
    assert post_change(logged_in(manager), case).status_code == 302
    assert trail(case) == events


# --- reassignment: managers, through case_assign, specialists only -------------------


def test_a_manager_reassigns_in_admin_and_the_assignment_is_an_event(case, manager, colleague):
    response = post_change(logged_in(manager), case, reassign_to=colleague.pk)
    assert response.status_code == 302
    case.refresh_from_db()
    assert case.assigned_to == colleague
    event = case.events.filter(kind=CaseEvent.Kind.ASSIGNMENT).last()
    assert (event.actor, event.reason) == (manager, f"Assigned to {colleague.username}.")


def test_the_reassignment_list_offers_only_specialists(case, manager, colleague, seller_login):
    page = logged_in(manager).get(change_url(case))
    offered = set(page.context["adminform"].form.fields["reassign_to"].queryset)
    assert offered == {case.assigned_to, colleague}
    refused = post_change(logged_in(manager), case, reassign_to=seller_login.pk)
    assert refused.status_code == 200
    assert "reassign_to" in refused.context["adminform"].form.errors
    case.refresh_from_db()
    assert case.assigned_to != seller_login


def test_specialists_are_offered_no_reassignment_in_admin(case, specialist):
    fields = logged_in(specialist).get(change_url(case)).context["adminform"].form.fields
    assert "assigned_to" not in fields
    assert "reassign_to" not in fields


# --- the plan and notes are written on the desk, with their events -------------------


def test_plan_steps_and_notes_are_not_written_in_admin(case, specialist):
    remediation_step_add(
        case_id=case.pk, by=specialist, text="Send invoices", owner="seller", due_on="2030-01-31"
    )
    step = case.steps.get()
    events = trail(case)
    post_change(
        logged_in(specialist),
        case,
        **{"steps-0-text": "Rewritten", "steps-0-due_on": "2031-01-01"},
    )
    step.refresh_from_db()
    assert (step.text, str(step.due_on)) == ("Send invoices", "2030-01-31")
    assert logged_in(specialist).get("/admin/cases/casenote/add/").status_code == 403
    assert trail(case) == events


# --- delete where the model refuses it, unknown transitions ---------------------------


def test_delete_is_not_offered_for_a_case_or_its_trail(case, specialist):
    case_add_note(case_id=case.pk, by=specialist, text="Left a voicemail")
    admin = logged_in(AdminFactory())
    note = case.notes.get()
    for path in [
        f"/admin/cases/case/{case.pk}/delete/",
        f"/admin/cases/caseevent/{case.events.first().pk}/delete/",
        f"/admin/cases/casenote/{note.pk}/delete/",
    ]:
        assert admin.get(path).status_code == 403, path
    page = admin.get(change_url(case))
    assert b"deletelink" not in page.content
    assert b'value="delete_selected"' not in admin.get("/admin/cases/case/").content
    assert Case.objects.filter(pk=case.pk).exists()


def test_delete_is_not_offered_for_a_seller_whose_cases_protect_it(case):
    admin = logged_in(AdminFactory())
    assert admin.get(f"/admin/sellers/seller/{case.seller.pk}/delete/").status_code == 403
    page = admin.get(f"/admin/sellers/seller/{case.seller.pk}/change/")
    assert b"deletelink" not in page.content
    # A seller nothing refers to (entered by mistake) may still be deleted.
    mistake = SellerFactory(seller_id="A-TYPO")
    assert admin.get(f"/admin/sellers/seller/{mistake.pk}/delete/").status_code == 200


@pytest.mark.parametrize("name", ["nonsense", "save", "seller", "delete", "has_plan"])
def test_an_unknown_admin_transition_is_not_found(case, manager, name):
    client = logged_in(manager)
    assert client.get(f"/admin/cases/case/{case.pk}/transition/{name}/").status_code == 404
    page = client.get(change_url(case))
    response = client.post(change_url(case), {**form_data(page), "_fsm_transition_to": name})
    assert response.status_code == 404
    assert row(case, ["status"]) == {"status": "opened"}


# --- titles name the seller id ----------------------------------------------------------


def title(page) -> str:
    return re.search(rb"<title>(.*?)</title>", page.content, re.S).group(1).decode()


# Rows about a seller, as each admin page shows one.
SELLER_ROWS = {
    "assurancestate": lambda seller: AssuranceState.objects.get(seller=seller),
    "accounthealthsnapshot": lambda seller: AccountHealthSnapshot.objects.create(
        seller=seller, date="2030-01-01", score=180
    ),
    "enrollmentevent": lambda seller: EnrollmentEvent.objects.create(
        seller=seller, kind="enrolled", effective_on="2030-01-01", reason="Eligible"
    ),
    "violation": lambda seller: ViolationFactory(seller=seller),
    "phoneverification": lambda seller: PhoneVerificationFactory(seller=seller),
}


@pytest.mark.parametrize("model", SELLER_ROWS)
def test_admin_titles_name_the_seller_id_not_the_database_id(case, model):
    obj = SELLER_ROWS[model](case.seller)
    page = logged_in(AdminFactory()).get(f"/admin/sellers/{model}/{obj.pk}/change/")
    assert page.status_code == 200
    assert "A-SOL" in title(page)


# --- case_correct: the service behind a correction --------------------------------------


def test_a_correction_is_one_event_naming_each_field_before_and_after(case, manager):
    corrected = case_correct(
        case_id=case.pk, by=manager, changes={"severity": "high", "evidence": "Order 123-456"}
    )
    assert (corrected.severity, corrected.evidence) == ("high", "Order 123-456")
    [event] = case.events.filter(kind=CaseEvent.Kind.CORRECTION)
    assert event.actor == manager
    assert event.reason == (
        "Corrected severity: 'critical' → 'high'; evidence: '' → 'Order 123-456'."
    )


def test_only_holders_of_correct_case_correct_a_case(case, specialist):
    with pytest.raises(Forbidden):
        case_correct(case_id=case.pk, by=specialist, changes={"summary": "Rewritten"})
    case.refresh_from_db()
    assert case.summary != "Rewritten"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"seller": 1}, "seller"),
        ({"upstream_id": "HIJACKED"}, "upstream_id"),
        ({"severity": "urgent"}, "severity"),
        ({"summary": "  "}, "summary"),
        ({"summary": "x" * 301}, "summary"),
        ({"evidence": "Order \x00 123"}, "evidence"),
    ],
)
def test_a_correction_of_a_rule_bearing_field_or_a_bad_value_names_the_field(
    case, manager, changes, field
):
    events = trail(case)
    with pytest.raises(InvalidInput) as refused:
        case_correct(case_id=case.pk, by=manager, changes=changes)
    assert list(refused.value.errors) == [field]
    assert trail(case) == events


def test_a_correction_that_changes_nothing_writes_no_event(case, manager):
    events = trail(case)
    case_correct(case_id=case.pk, by=manager, changes={"summary": case.summary})
    assert trail(case) == events
