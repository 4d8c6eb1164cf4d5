"""The cases API: open, list, read, transitions, plan, notes, assignment; problem answers."""

import pytest
from rest_framework.test import APIClient

from accounts.roles import Role
from cases.models import Case, CaseEvent
from cases.selectors import case_timeline
from cases.services import (
    case_add_note,
    case_assign,
    case_open,
    case_transition,
    remediation_step_add,
)
from config.errors import Conflict, problem_type
from config.problem_details import PROBLEM_JSON
from sellers.models import AssuranceState
from tests.builders import api_client
from tests.factories import (
    EmergencyContactFactory,
    SellerFactory,
    SpecialistFactory,
    StoreFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def client_for(user=None, name="feed") -> APIClient:
    return api_client(user, name=name)


@pytest.fixture
def specialist():
    return SpecialistFactory().user


@pytest.fixture
def seller():
    return SellerFactory(seller_id="S1")


def payload(**overrides):
    return {
        "seller_id": "S1",
        "policy_area": "counterfeit",
        "severity": "critical",
        "summary": "Counterfeit complaint on ASIN B00X",
        "upstream_id": "AH-1",
        **overrides,
    }


def test_upstream_opens_a_case_once_per_upstream_issue(seller, specialist):
    upstream = client_for()
    first = upstream.post("/api/v1/cases/", payload(), format="json")
    assert first.status_code == 201, first.json()
    body = first.json()
    assert body["status"] == "opened"
    assert body["assured"] is False
    assert body["reach_deadline"] is None
    assert body["assigned_to"] == specialist.username
    again = upstream.post("/api/v1/cases/", payload(summary="changed"), format="json")
    assert again.status_code == 200
    assert again.json()["id"] == body["id"]
    assert Case.objects.count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"seller_id": "NOPE"}, "seller_id"),
        ({"severity": "urgent"}, "severity"),
        ({"policy_area": ""}, "policy_area"),
    ],
)
def test_bad_case_fields_are_named(seller, change, field):
    response = client_for().post("/api/v1/cases/", payload(**change), format="json")
    assert response.status_code == 400
    assert field in response.json()["errors"]


def test_transition_answers_new_state_then_409_with_what_is_allowed(seller, specialist):
    case, _ = case_open(seller=seller, policy_area="counterfeit", severity="high", summary="x")
    api = client_for(specialist, "desk")
    ok = api.post(f"/api/v1/cases/{case.pk}/transitions/contact/", {}, format="json")
    assert ok.status_code == 200
    assert ok.json()["status"] == "contacted"
    again = api.post(f"/api/v1/cases/{case.pk}/transitions/contact/", {}, format="json")
    assert again.status_code == 409
    assert again.json()["state"] == "contacted"
    assert again.json()["allowed"] == ["escalate"]
    assert "cannot be contacted" in again.json()["detail"]


def test_escalate_and_resolve_need_a_reason(seller, specialist):
    case, _ = case_open(seller=seller, policy_area="counterfeit", severity="high", summary="x")
    api = client_for(specialist, "desk")
    response = api.post(
        f"/api/v1/cases/{case.pk}/transitions/escalate/", {"reason": " "}, format="json"
    )
    assert response.status_code == 400
    assert "reason" in response.json()["errors"]
    assert Case.objects.get().status == "opened"


def test_reinstate_is_for_managers_only(seller, specialist):
    case, _ = case_open(seller=seller, policy_area="counterfeit", severity="high", summary="x")
    case_transition(case_id=case.pk, name="escalate", by=specialist, reason="no answer")
    refused = client_for(specialist, "desk").post(
        f"/api/v1/cases/{case.pk}/transitions/reinstate/", {"reason": "x"}, format="json"
    )
    assert refused.status_code == 403
    manager = client_for(UserFactory(role=Role.MANAGER), "mgr")
    done = manager.post(
        f"/api/v1/cases/{case.pk}/transitions/reinstate/", {"reason": "spoke"}, format="json"
    )
    assert done.status_code == 200
    assert done.json()["status"] == "contacted"


def test_unknown_transition_is_404(seller, specialist):
    case, _ = case_open(seller=seller, policy_area="counterfeit", severity="high", summary="x")
    response = client_for(specialist, "desk").post(
        f"/api/v1/cases/{case.pk}/transitions/delete/", {}
    )
    assert response.status_code == 404


def test_sellers_read_only_their_own_cases(seller, specialist):
    mine, _ = case_open(seller=seller, policy_area="counterfeit", severity="high", summary="mine")
    theirs, _ = case_open(
        seller=SellerFactory(), policy_area="counterfeit", severity="high", summary="theirs"
    )
    seller_user = UserFactory(role=Role.SELLER)
    seller.users.add(seller_user)
    api = client_for(seller_user, "me")
    listed = api.get("/api/v1/cases/").json()
    assert [case["id"] for case in listed["results"]] == [mine.pk]
    assert api.get(f"/api/v1/cases/{theirs.pk}/").status_code == 404
    assert api.get(f"/api/v1/cases/{mine.pk}/events/").status_code == 200
    assert api.post(f"/api/v1/cases/{mine.pk}/transitions/contact/", {}).status_code == 403
    assert api.post("/api/v1/cases/", payload(upstream_id="AH-2"), format="json").status_code == 403


def test_list_filters_and_detail_with_events(seller, specialist):
    case, _ = case_open(
        seller=seller, policy_area="counterfeit", severity="high", summary="x", upstream_id="U"
    )
    remediation_step_add(
        case_id=case.pk, by=specialist, text="Remove listing", owner="seller", due_on="2030-01-01"
    )
    case_transition(case_id=case.pk, name="contact", by=specialist)
    api = client_for(specialist, "desk")
    assert api.get("/api/v1/cases/?status=contacted&seller_id=S1").json()["count"] == 1
    assert api.get("/api/v1/cases/?status=opened").json()["count"] == 0
    assert api.get(f"/api/v1/cases/?assigned_to={specialist.username}").json()["count"] == 1
    assert api.get("/api/v1/cases/?status=bogus").status_code == 400
    assert api.get("/api/v1/cases/?overdue=maybe").status_code == 400
    detail = api.get(f"/api/v1/cases/{case.pk}/").json()
    assert [event["kind"] for event in detail["events"]] == [
        "opened",
        "assignment",
        "step_added",
        "transition",
    ]
    assert detail["events"][-1]["actor"] == specialist.get_full_name()


# --- Problem details ----------------------------------------------------------------


def assert_problem(response, status_code: int, kind: str) -> dict:
    """The answer is an RFC 9457 problem of that kind, from the one handler."""
    assert response.status_code == status_code, response.content
    assert response["Content-Type"] == PROBLEM_JSON
    body = response.json()
    assert body["type"] == problem_type(kind)
    assert body["title"]
    assert body["detail"]
    assert "status" in body
    return body


@pytest.fixture
def enrolled_seller():
    seller = SellerFactory(seller_id="E1")
    EmergencyContactFactory(seller=seller)
    AssuranceState.objects.create(seller=seller, enrolled=True, contact_valid=True)
    return seller


@pytest.fixture
def seller_login(seller):
    """A portal login of seller S1, with an API token."""
    user = UserFactory(role=Role.SELLER)
    seller.users.add(user)
    return client_for(user, "me")


def open_case(seller, **fields):
    fields = {"policy_area": "counterfeit", "severity": "high", "summary": "x", **fields}
    case, _ = case_open(seller=seller, **fields)
    return case


def test_a_specialist_walks_a_case_from_open_to_resolved_through_the_api_alone(
    enrolled_seller, specialist
):
    api = client_for(specialist, "desk")
    opened = api.post(
        "/api/v1/cases/", payload(seller_id="E1", upstream_id=None), format="json"
    ).json()
    assert opened["assured"] is True
    assert opened["reach_deadline"] is not None
    cases = f"/api/v1/cases/{opened['id']}"

    def fire(name, **body):
        return api.post(f"{cases}/transitions/{name}/", body, format="json")

    assert fire("contact").json()["status"] == "contacted"
    added = api.post(
        f"{cases}/steps/",
        {"text": "Remove the listing", "owner": "seller", "due_on": "2030-01-31"},
        format="json",
    )
    assert added.status_code == 201
    step = added.json()
    assert step == {
        "id": step["id"],
        "text": "Remove the listing",
        "owner": "seller",
        "due_on": "2030-01-31",
        "done_at": None,
    }
    assert fire("start_remediation").json()["status"] == "in_remediation"

    refused = assert_problem(fire("resolve", reason="Listing removed"), 409, "conflict")
    assert refused["state"] == "in_remediation"
    assert refused["allowed"] == ["escalate"]
    assert "Every plan step must be done" in refused["detail"]

    done = api.post(f"{cases}/steps/{step['id']}/done/")
    assert done.status_code == 200
    assert done.json()["done_at"] is not None
    resolved = fire("resolve", reason="Listing removed")
    assert resolved.status_code == 200
    assert resolved.json()["status"] == "resolved"
    assert resolved.json()["resolution_reason"] == "Listing removed"

    events = api.get(f"{cases}/events/").json()
    assert [(event["kind"], event["transition"]) for event in events] == [
        ("opened", ""),
        ("assignment", ""),
        ("transition", "contact"),
        ("step_added", ""),
        ("transition", "start_remediation"),
        ("step_done", ""),
        ("transition", "resolve"),
    ]
    assert {event["actor"] for event in events[2:]} == {specialist.get_full_name()}


def test_a_conflict_is_a_problem_with_the_status_and_what_is_allowed(seller, specialist):
    case = open_case(seller)
    case_transition(case_id=case.pk, name="contact", by=specialist)
    response = client_for(specialist, "desk").post(
        f"/api/v1/cases/{case.pk}/transitions/contact/", {}, format="json"
    )
    body = assert_problem(response, 409, "conflict")
    assert body["title"] == "Not possible now"
    assert (body["status"], body["state"]) == (409, "contacted")
    assert body["allowed"] == ["escalate"]


def test_a_refused_permission_is_a_forbidden_problem(seller, seller_login):
    case = open_case(seller)
    response = seller_login.post(f"/api/v1/cases/{case.pk}/transitions/contact/", {})
    body = assert_problem(response, 403, "forbidden")
    assert body["status"] == 403
    assert body["detail"] == "You may not record contact cases."
    assert Case.objects.get().status == "opened"


def test_a_bad_field_is_an_invalid_input_problem_naming_the_field(seller):
    response = client_for().post("/api/v1/cases/", payload(severity="urgent"), format="json")
    body = assert_problem(response, 400, "invalid-input")
    assert body["status"] == 400
    assert list(body["errors"]) == ["severity"]
    assert body["detail"].startswith("severity: ")


def test_an_unknown_case_is_a_not_found_problem(specialist):
    api = client_for(specialist, "desk")
    for url in ["/api/v1/cases/999999/", "/api/v1/cases/999999/steps/"]:
        body = assert_problem(api.get(url), 404, "not-found")
        assert body["status"] == 404
        assert "999999" in body["detail"]


def test_an_unknown_transition_is_not_found_and_names_the_real_ones(seller, specialist):
    case = open_case(seller)
    response = client_for(specialist, "desk").post(
        f"/api/v1/cases/{case.pk}/transitions/delete/", {}
    )
    body = assert_problem(response, 404, "not-found")
    assert "'delete'" in body["detail"]
    assert "contact, start_remediation, resolve, escalate, reinstate" in body["detail"]


# --- The plan, notes and assignment -------------------------------------------------


def test_steps_are_listed_soonest_due_first_and_ticking_twice_counts_once(seller, specialist):
    case = open_case(seller)
    api = client_for(specialist, "desk")
    later = api.post(
        f"/api/v1/cases/{case.pk}/steps/",
        {"text": "Appeal", "owner": "specialist", "due_on": "2030-03-01"},
        format="json",
    ).json()
    api.post(
        f"/api/v1/cases/{case.pk}/steps/",
        {"text": "Remove listing", "owner": "seller", "due_on": "2030-02-01"},
        format="json",
    )
    listed = api.get(f"/api/v1/cases/{case.pk}/steps/").json()
    assert [step["text"] for step in listed] == ["Remove listing", "Appeal"]
    first = api.post(f"/api/v1/cases/{case.pk}/steps/{later['id']}/done/").json()
    again = api.post(f"/api/v1/cases/{case.pk}/steps/{later['id']}/done/").json()
    assert again["done_at"] == first["done_at"]
    assert case.events.filter(kind="step_done").count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"owner": "manager"}, "owner"),
        ({"due_on": "31/01/2030"}, "due_on"),
        ({"text": " "}, "text"),
        ({"text": None}, "text"),
    ],
)
def test_a_bad_step_is_refused_naming_the_field(seller, specialist, change, field):
    case = open_case(seller)
    step = {"text": "Remove listing", "owner": "seller", "due_on": "2030-02-01", **change}
    response = client_for(specialist, "desk").post(
        f"/api/v1/cases/{case.pk}/steps/", step, format="json"
    )
    assert field in assert_problem(response, 400, "invalid-input")["errors"]
    assert not case.steps.exists()


def test_a_closed_case_takes_no_steps_and_its_plan_is_closed(seller, specialist):
    case = open_case(seller)
    step = remediation_step_add(
        case_id=case.pk, by=specialist, text="Remove", owner="seller", due_on="2030-01-01"
    )
    case_transition(case_id=case.pk, name="escalate", by=specialist, reason="No answer")
    api = client_for(specialist, "desk")
    added = api.post(
        f"/api/v1/cases/{case.pk}/steps/",
        {"text": "Appeal", "owner": "seller", "due_on": "2030-01-01"},
        format="json",
    )
    assert assert_problem(added, 409, "conflict")["state"] == "escalated"
    ticked = api.post(f"/api/v1/cases/{case.pk}/steps/{step.pk}/done/")
    assert "plan is closed" in assert_problem(ticked, 409, "conflict")["detail"]


def test_a_step_of_another_case_is_not_found(seller, specialist):
    case, other = open_case(seller), open_case(seller)
    step = remediation_step_add(
        case_id=other.pk, by=specialist, text="Remove", owner="seller", due_on="2030-01-01"
    )
    response = client_for(specialist, "desk").post(f"/api/v1/cases/{case.pk}/steps/{step.pk}/done/")
    assert_problem(response, 404, "not-found")
    step.refresh_from_db()
    assert step.done_at is None


def test_the_desk_adds_and_reads_notes_and_each_is_an_event(seller, specialist):
    case = open_case(seller)
    api = client_for(specialist, "desk")
    added = api.post(f"/api/v1/cases/{case.pk}/notes/", {"text": " Left a voicemail "})
    assert added.status_code == 201
    assert added.json()["text"] == "Left a voicemail"
    assert added.json()["author"] == specialist.username
    assert [note["text"] for note in api.get(f"/api/v1/cases/{case.pk}/notes/").json()] == [
        "Left a voicemail"
    ]
    assert case.events.get(kind="note").reason == "Left a voicemail"
    blank = api.post(f"/api/v1/cases/{case.pk}/notes/", {"text": ""})
    assert "text" in assert_problem(blank, 400, "invalid-input")["errors"]


def test_sellers_read_the_plan_of_their_own_case_but_never_notes_and_never_write(
    seller, specialist, seller_login
):
    mine = open_case(seller)
    remediation_step_add(
        case_id=mine.pk, by=specialist, text="Remove listing", owner="seller", due_on="2030-01-01"
    )
    step = mine.steps.get()
    case_add_note(case_id=mine.pk, by=specialist, text="Seller sounded annoyed")
    theirs = open_case(SellerFactory())
    remediation_step_add(
        case_id=theirs.pk, by=specialist, text="Other plan", owner="seller", due_on="2030-01-01"
    )

    plan = seller_login.get(f"/api/v1/cases/{mine.pk}/steps/")
    assert [item["text"] for item in plan.json()] == ["Remove listing"]
    assert_problem(seller_login.get(f"/api/v1/cases/{mine.pk}/notes/"), 403, "forbidden")
    refused = [
        seller_login.post(f"/api/v1/cases/{mine.pk}/notes/", {"text": "hi"}),
        seller_login.post(
            f"/api/v1/cases/{mine.pk}/steps/",
            {"text": "Mine", "owner": "seller", "due_on": "2030-01-01"},
        ),
        seller_login.post(f"/api/v1/cases/{mine.pk}/steps/{step.pk}/done/"),
        seller_login.post(
            f"/api/v1/cases/{mine.pk}/assignment/", {"assigned_to": None}, format="json"
        ),
    ]
    assert [response.status_code for response in refused] == [403, 403, 403, 403]
    for url in ["steps", "notes"]:
        assert_problem(seller_login.get(f"/api/v1/cases/{theirs.pk}/{url}/"), 404, "not-found")
    assert mine.notes.count() == 1
    assert mine.steps.get().done_at is None


def test_upstream_systems_open_cases_but_do_not_read_notes(seller):
    case = open_case(seller)
    upstream = client_for()
    assert upstream.get(f"/api/v1/cases/{case.pk}/steps/").status_code == 200
    assert_problem(upstream.get(f"/api/v1/cases/{case.pk}/notes/"), 403, "forbidden")


def test_only_managers_assign_and_each_assignment_is_an_event(seller, specialist):
    case = open_case(seller)
    other = SpecialistFactory().user
    refused = client_for(specialist, "desk").post(
        f"/api/v1/cases/{case.pk}/assignment/", {"assigned_to": other.username}, format="json"
    )
    assert assert_problem(refused, 403, "forbidden")["detail"] == "Only managers assign cases."
    manager = UserFactory(role=Role.MANAGER)
    api = client_for(manager, "mgr")
    done = api.post(
        f"/api/v1/cases/{case.pk}/assignment/", {"assigned_to": other.username}, format="json"
    )
    assert done.status_code == 200
    assert done.json()["assigned_to"] == other.username
    event = case.events.filter(kind="assignment").last()
    assert (event.actor, event.reason) == (manager, f"Assigned to {other.username}.")
    nobody = api.post(f"/api/v1/cases/{case.pk}/assignment/", {"assigned_to": None}, format="json")
    assert nobody.json()["assigned_to"] is None
    assert case.events.filter(kind="assignment").last().reason == "Unassigned."


@pytest.mark.parametrize("who", ["ghost", "a manager", "missing"])
def test_assigning_to_someone_who_is_not_a_specialist_names_assigned_to(seller, who):
    case = open_case(seller)
    manager = UserFactory(role=Role.MANAGER)
    body = {"assigned_to": manager.username if who == "a manager" else who}
    if who == "missing":
        body = {}
    response = client_for(manager, "mgr").post(
        f"/api/v1/cases/{case.pk}/assignment/", body, format="json"
    )
    assert list(assert_problem(response, 400, "invalid-input")["errors"]) == ["assigned_to"]


# --- Filters and the schema ---------------------------------------------------------


@pytest.mark.parametrize(
    "query",
    [
        "status=opened,bogus",
        "store=XX",
        "assigned_to=ghost",
        "severity=urgent",
        "policy_area=parking",
        "overdue=maybe",
    ],
)
def test_an_unknown_filter_value_is_a_400_naming_the_parameter(specialist, query):
    response = client_for(specialist, "desk").get(f"/api/v1/cases/?{query}")
    body = assert_problem(response, 400, "invalid-input")
    assert list(body["errors"]) == [query.split("=")[0]]


def test_filters_narrow_the_list(seller, specialist):
    contacted = open_case(seller)
    case_transition(case_id=contacted.pk, name="contact", by=specialist)
    open_case(SellerFactory(store=StoreFactory(code="CA", name="Canada")), severity="low")
    api = client_for(specialist, "desk")

    def ids(query):
        return [case["id"] for case in api.get(f"/api/v1/cases/?{query}").json()["results"]]

    assert ids("status=contacted,resolved") == [contacted.pk]
    assert ids("store=US&severity=high") == [contacted.pk]
    assert len(ids("overdue=false")) == 2
    assert ids("overdue=true") == []
    assert len(ids("status=")) == 2


def test_openapi_schema_describes_the_new_endpoints_and_their_problems(client):
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    paths = schema["paths"]
    assert {
        "/api/v1/cases/{case_id}/steps/",
        "/api/v1/cases/{case_id}/steps/{step_id}/done/",
        "/api/v1/cases/{case_id}/notes/",
        "/api/v1/cases/{case_id}/assignment/",
        "/api/v1/violations/",
        "/api/v1/sellers/{seller_id}/violations/",
    } <= set(paths)
    transition = paths["/api/v1/cases/{case_id}/transitions/{name}/"]["post"]["responses"]
    assert transition["409"]["content"][PROBLEM_JSON]["schema"] == {
        "$ref": "#/components/schemas/ConflictProblem"
    }
    steps = paths["/api/v1/cases/{case_id}/steps/"]["post"]["responses"]
    assert steps["400"]["content"][PROBLEM_JSON]["schema"] == {
        "$ref": "#/components/schemas/ValidationProblem"
    }
    assert steps["403"]["content"][PROBLEM_JSON]["schema"] == {
        "$ref": "#/components/schemas/Problem"
    }
    problem = schema["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    list_parameters = {p["name"] for p in paths["/api/v1/cases/"]["get"]["parameters"]}
    assert {"status", "store", "assigned_to", "overdue", "severity"} <= list_parameters


def test_each_role_sees_the_notes_its_role_may(
    upstream_api, specialist_api, manager_api, seller_api
):
    """Notes are the desk's: the specialist and the manager read them; the seller whose case
    it is, and an upstream system, never do."""
    case = open_case(seller_api.seller, policy_area="counterfeit", severity="high", summary="x")
    assert (
        specialist_api.post(
            f"/api/v1/cases/{case.pk}/notes/", {"text": "Called twice."}, format="json"
        ).status_code
        == 201
    )

    answers = {
        role: api.get(f"/api/v1/cases/{case.pk}/notes/")
        for role, api in [
            ("specialist", specialist_api),
            ("manager", manager_api),
            ("seller", seller_api),
            ("upstream", upstream_api),
        ]
    }

    assert {role: answer.status_code for role, answer in answers.items()} == {
        "specialist": 200,
        "manager": 200,
        "seller": 403,
        "upstream": 403,
    }
    assert [note["text"] for note in answers["manager"].json()] == ["Called twice."]
    assert "Called twice." not in answers["seller"].content.decode()


# --- What a seller reads of the trail (issue 9, item 2) ------------------------------


def test_a_seller_reads_the_milestones_plan_and_outreach_but_nothing_internal(seller_api):
    desk = SpecialistFactory(user__username="specialist.ana").user
    colleague = SpecialistFactory(user__username="specialist.ben").user
    manager = UserFactory(username="manager.mo", role=Role.MANAGER)
    case = open_case(seller_api.seller)
    assert case.assigned_to == desk
    case_add_note(case_id=case.pk, by=desk, text="Seller sounded annoyed")
    CaseEvent.objects.create(
        case=case, kind=CaseEvent.Kind.WARNING, actor_process="deadline sweep", reason="24 h left"
    )
    CaseEvent.objects.create(
        case=case,
        kind=CaseEvent.Kind.OUTREACH,
        actor_process="deadline sweep",
        reason="No email address on file for the seller: email skipped.",
    )
    remediation_step_add(
        case_id=case.pk, by=desk, text="Remove listing", owner="seller", due_on="2030-01-01"
    )
    case_transition(case_id=case.pk, name="contact", by=desk)
    case_assign(case_id=case.pk, to=colleague, by=manager)
    public = ["opened", "outreach", "step_added", "transition"]

    events = seller_api.get(f"/api/v1/cases/{case.pk}/events/")
    detail = seller_api.get(f"/api/v1/cases/{case.pk}/")
    assert [event["kind"] for event in events.json()] == public
    assert [event["kind"] for event in detail.json()["events"]] == public
    assert events.json()[-1]["actor"] == "AHA specialist"
    for response in (events, detail):
        text = response.content.decode()
        for name in ("specialist.ana", "specialist.ben", "manager.mo", desk.get_full_name()):
            assert name not in text
        assert "Seller sounded annoyed" not in text
        assert "24 h left" not in text

    # The desk reads all of it, on the API and on the case page's timeline.
    everything = [
        "opened",
        "assignment",
        "note",
        "warning",
        "outreach",
        "step_added",
        "transition",
        "assignment",
    ]
    desk_api = client_for(desk, "desk")
    assert [e["kind"] for e in desk_api.get(f"/api/v1/cases/{case.pk}/events/").json()] == (
        everything
    )
    assert [row["kind"] for row in case_timeline(case, desk) if row["kind"] != "attempt"] == (
        everything
    )
    seller_login = seller_api.seller.users.get()
    assert [row["kind"] for row in case_timeline(case, seller_login)] == public


# --- One upstream issue is one seller's case (issue 9, item 3) -----------------------


def test_an_upstream_id_of_another_sellers_case_is_a_conflict_naming_it(seller, specialist):
    upstream = client_for()
    first = upstream.post("/api/v1/cases/", payload(), format="json")
    assert first.status_code == 201
    SellerFactory(seller_id="S2")

    clash = upstream.post("/api/v1/cases/", payload(seller_id="S2"), format="json")

    body = assert_problem(clash, 409, "conflict")
    assert body["detail"] == "upstream_id 'AH-1' is already the case of another seller."
    assert Case.objects.count() == 1
    again = upstream.post("/api/v1/cases/", payload(), format="json")
    assert (again.status_code, again.json()["id"]) == (200, first.json()["id"])


def test_case_open_refuses_another_sellers_upstream_id(seller):
    open_case(seller, upstream_id="AH-9")
    with pytest.raises(Conflict, match="another seller"):
        open_case(SellerFactory(), upstream_id="AH-9")
    assert Case.objects.filter(upstream_id="AH-9").get().seller == seller
