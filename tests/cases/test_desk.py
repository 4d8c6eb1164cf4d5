"""The specialist desk: the queue, the case page and the writes it offers."""

import datetime as dt
import re
from html.parser import HTMLParser

import pytest
import time_machine
from django.contrib.messages import get_messages

from accounts.roles import Role
from cases.models import Case, CaseEvent, CaseNote, RemediationStep
from cases.services import case_transition, remediation_step_add
from sellers.models import AssuranceState, Store
from tests.factories import (
    CaseFactory,
    EmergencyContactFactory,
    SellerFactory,
    SpecialistFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 15, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def specialist():
    return SpecialistFactory(
        user__username="sam", user__first_name="Sam", user__last_name="Rivera"
    ).user


@pytest.fixture
def colleague():
    return SpecialistFactory(
        user__username="kim", user__first_name="Kim", user__last_name="Lee"
    ).user


@pytest.fixture
def manager():
    return UserFactory(username="max", first_name="Max", last_name="Moreau", role=Role.MANAGER)


@pytest.fixture
def desk(client, specialist):
    client.force_login(specialist)
    return client


def assured_case(*, hours_left: float, **fields) -> Case:
    """A case of an enrolled seller, opened 72 h before its deadline."""
    deadline = NOW + dt.timedelta(hours=hours_left)
    return CaseFactory(
        assured=True,
        reach_deadline=deadline,
        opened_at=deadline - dt.timedelta(hours=72),
        **fields,
    )


def unassured_case(**fields) -> Case:
    return CaseFactory(assured=False, reach_deadline=None, opened_at=NOW, **fields)


# --- Reading pages ------------------------------------------------------------------------

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}


class _Collect(HTMLParser):
    """Text and attributes of the elements that carry ``attribute`` (matching ``pattern``)."""

    def __init__(self, attribute: str, pattern: str) -> None:
        super().__init__()
        self.attribute, self.pattern = attribute, re.compile(pattern)
        self.open: list[list] = []  # [value, depth, parts, attrs] of elements being read
        self.found: list[tuple[str, str, dict]] = []

    def handle_starttag(self, tag, attrs):
        nested = tag not in VOID
        for element in self.open:
            element[1] += nested
        value = dict(attrs).get(self.attribute)
        if value is not None and self.pattern.fullmatch(value) and nested:
            self.open.append([value, 1, [], dict(attrs)])

    def handle_endtag(self, tag):
        for element in list(self.open):
            element[1] -= 1
            if element[1] == 0:
                self.open.remove(element)
                text = " ".join(" ".join(element[2]).split())
                self.found.append((element[0], text, element[3]))

    def handle_data(self, data):
        for element in self.open:
            element[2].append(data)


def elements(response, pattern: str, attribute: str = "data-testid") -> list[tuple[str, str]]:
    """(attribute value, visible text) of each element whose attribute matches, in order."""
    parser = _Collect(attribute, pattern)
    parser.feed(response.content.decode())
    return [(value, text) for value, text, _ in parser.found]


def text_of(response, testid: str) -> str:
    found = [text for value, text in elements(response, re.escape(testid)) if value == testid]
    assert found, f"no element data-testid={testid!r} on the page"
    return found[0]


def queue_ids(response) -> list[int]:
    """The case ids of the queue's rows, top to bottom."""
    return [int(m) for m in re.findall(r'data-testid="case-(\d+)"', response.content.decode())]


def row(response, case: Case) -> str:
    return text_of(response, f"case-{case.pk}")


def messages_of(response) -> list[str]:
    return [str(message) for message in get_messages(response.wsgi_request)]


def detail_url(case: Case) -> str:
    return f"/desk/cases/{case.pk}/"


def transition_url(case: Case, name: str) -> str:
    return f"/desk/cases/{case.pk}/transitions/{name}/"


def buttons(response) -> list[str]:
    """The labels of the transition buttons on a case page, in order."""
    return re.findall(
        r'<form method="post" action="/desk/cases/\d+/transitions/\w+/".*?'
        r"<button [^>]*>([^<]+)</button>",
        response.content.decode(),
        re.S,
    )


# --- The queue ------------------------------------------------------------------------------


def test_my_queue_lists_my_open_cases_by_time_left_with_unassured_last(desk, specialist, colleague):
    later = assured_case(hours_left=50, assigned_to=specialist)
    soonest = assured_case(hours_left=5, assigned_to=specialist)
    middle = assured_case(hours_left=30, assigned_to=specialist)
    no_guarantee = unassured_case(assigned_to=specialist)
    assured_case(hours_left=1, assigned_to=colleague)
    closed = assured_case(hours_left=2, assigned_to=specialist)
    case_transition(case_id=closed.pk, name="escalate", by=specialist, reason="Fraud ring")

    response = desk.get("/desk/")

    assert response.status_code == 200
    assert queue_ids(response) == [soonest.pk, middle.pk, later.pk, no_guarantee.pk]
    assert text_of(response, "count-mine") == "4"
    assert text_of(response, "count-team") == "5"
    assert 'aria-current="page">My queue' in response.content.decode()


def test_team_queue_shows_every_open_case_with_its_specialist(desk, specialist, colleague):
    mine = assured_case(hours_left=40, assigned_to=specialist)
    theirs = assured_case(hours_left=10, assigned_to=colleague)
    nobody = unassured_case()

    response = desk.get("/desk/", {"scope": "team"})

    assert queue_ids(response) == [theirs.pk, mine.pk, nobody.pk]
    assert "Kim Lee" in row(response, theirs)
    assert "Sam Rivera" in row(response, mine)
    assert "Unassigned" in row(response, nobody)
    assert 'aria-current="page">Team queue' in response.content.decode()


def test_queue_row_shows_seller_store_policy_severity_status_and_opening(desk, specialist):
    seller = SellerFactory(seller_id="A-SUNNY", name="Sunny Goods")
    case = assured_case(
        hours_left=60,
        seller=seller,
        assigned_to=specialist,
        policy_area="counterfeit",
        severity="high",
    )

    text = row(desk.get("/desk/"), case)

    assert f"Case {case.pk}" in text
    assert "A-SUNNY Sunny Goods" in text
    assert " US " in f" {text} "
    assert "Counterfeit" in text
    assert "High" in text
    assert "Opened" in text
    assert "Sam Rivera" in text
    assert "15 Mar 2026, 00:00" in text  # opened 12 h ago: 72 h before its deadline


def test_countdown_turns_red_under_24_hours_and_says_overdue_past_the_deadline(
    desk, specialist, clock
):
    calm = assured_case(hours_left=50, assigned_to=specialist)
    urgent = assured_case(hours_left=10, assigned_to=specialist)
    late = assured_case(hours_left=-3, assigned_to=specialist)
    reached = assured_case(hours_left=20, assigned_to=specialist)
    case_transition(case_id=reached.pk, name="contact", by=specialist)
    content = desk.get("/desk/").content.decode()

    assert re.search(
        r'<time class="countdown countdown-ok" datetime="2026-03-17T14:00:00\+00:00" '
        r'data-deadline="2026-03-17T14:00:00\+00:00"[^>]*>2 d 02 h 00 m left</time>',
        content,
    )
    assert re.search(
        r'class="countdown countdown-urgent"[^>]*data-deadline="2026-03-15T22:00:00\+00:00"'
        r"[^>]*>10 h 00 m 00 s left</time>",
        content,
    )
    assert re.search(r'class="countdown countdown-overdue"[^>]*>Overdue by 3 h 00 m 00 s<', content)
    assert f'class="queue-row is-urgent" data-testid="case-{urgent.pk}"' in content
    assert f'class="queue-row is-overdue" data-testid="case-{late.pk}"' in content
    assert f'class="queue-row is-ok" data-testid="case-{calm.pk}"' in content
    # A reached seller has no countdown any more.
    response = desk.get("/desk/")
    assert "Reached in time" in row(response, reached)
    # The script keeps the countdown live in the browser (a static file, for the CSP).
    assert '<script src="/static/js/countdown.js"' in content

    clock.shift(dt.timedelta(hours=27))
    content = desk.get("/desk/").content.decode()
    assert re.search(r'class="countdown countdown-urgent"[^>]*>23 h 00 m 00 s left<', content)


def test_unassured_cases_say_there_is_no_72_hour_guarantee(desk, specialist):
    case = unassured_case(assigned_to=specialist)
    response = desk.get("/desk/")
    assert "No 72-hour guarantee" in row(response, case)
    assert "countdown" not in re.search(
        rf'data-testid="case-{case.pk}">(.*?)</tr>', response.content.decode(), re.S
    ).group(1)


def test_filters_narrow_the_queue_by_status_store_severity_and_policy_area(desk, specialist):
    canada = Store.objects.get(code="CA")
    us_case = assured_case(hours_left=30, assigned_to=specialist, severity="critical")
    ca_case = assured_case(
        hours_left=40,
        assigned_to=specialist,
        seller=SellerFactory(store=canada),
        severity="high",
        policy_area="counterfeit",
    )
    contacted = assured_case(hours_left=50, assigned_to=specialist, severity="medium")
    case_transition(case_id=contacted.pk, name="contact", by=specialist)

    assert queue_ids(desk.get("/desk/", {"store": "CA"})) == [ca_case.pk]
    assert queue_ids(desk.get("/desk/", {"severity": "critical"})) == [us_case.pk]
    assert queue_ids(desk.get("/desk/", {"policy_area": "counterfeit"})) == [ca_case.pk]
    assert queue_ids(desk.get("/desk/", {"status": "contacted"})) == [contacted.pk]
    assert queue_ids(desk.get("/desk/", {"status": "opened", "store": "US"})) == [us_case.pk]
    filtered = desk.get("/desk/", {"scope": "team", "severity": "high"})
    assert queue_ids(filtered) == [ca_case.pk]
    assert "Clear filters" in filtered.content.decode()
    # The status filter also reaches closed cases.
    case_transition(case_id=us_case.pk, name="escalate", by=specialist, reason="Fraud")
    assert queue_ids(desk.get("/desk/", {"status": "escalated"})) == [us_case.pk]
    assert us_case.pk not in queue_ids(desk.get("/desk/"))


def test_bad_filter_values_are_ignored_with_a_message_never_an_error(desk, specialist):
    case = assured_case(hours_left=30, assigned_to=specialist)

    response = desk.get(
        "/desk/",
        {
            "status": "lost",
            "store": "ZZ",
            "severity": "<script>",
            "policy_area": "x" * 300,
            "page": "minus-one",
            "scope": "everything",
        },
    )

    assert response.status_code == 200
    assert queue_ids(response) == [case.pk]
    notes = messages_of(response)
    assert "Ignored the status filter: “lost” is not one of its choices." in notes
    assert "Ignored the store filter: “ZZ” is not one of its choices." in notes
    assert any(note.startswith("Ignored the severity filter") for note in notes)
    assert f"Ignored the policy area filter: “{'x' * 39}…” is not one of its choices." in notes
    assert "“&lt;script&gt;”" in response.content.decode()
    assert response.content.decode().count("<script") == 1  # the countdown's own
    # A valid filter next to an invalid one still applies.
    response = desk.get("/desk/", {"status": "lost", "severity": "low"})
    assert queue_ids(response) == []
    assert "No cases match these filters." in response.content.decode()


def test_queue_pages_by_fifty_and_tolerates_any_page_number(desk, specialist):
    seller = SellerFactory()
    for hours in range(51):
        assured_case(hours_left=hours + 1, assigned_to=specialist, seller=seller)

    first = desk.get("/desk/")
    assert len(queue_ids(first)) == 50
    assert "Page 1 of 2" in first.content.decode()
    assert "51 cases" in first.content.decode()
    second = desk.get("/desk/", {"page": 2})
    assert len(queue_ids(second)) == 1
    assert desk.get("/desk/", {"page": 99}).status_code == 200
    assert len(queue_ids(desk.get("/desk/", {"page": 99}))) == 1


def test_empty_queues_say_so(desk):
    assert "No open cases are assigned to you." in desk.get("/desk/").content.decode()
    team = desk.get("/desk/", {"scope": "team"}).content.decode()
    assert "The team has no open cases." in team


def test_queue_takes_a_fixed_number_of_queries(
    desk, specialist, colleague, django_assert_max_num_queries
):
    def add_cases(count: int) -> None:
        for n in range(count):
            seller = SellerFactory(store=Store.objects.get(code="US" if n % 2 else "CA"))
            assured_case(
                hours_left=n + 1, seller=seller, assigned_to=specialist if n % 3 else colleague
            )
            unassured_case(seller=seller, assigned_to=specialist)

    add_cases(2)
    with django_assert_max_num_queries(10) as few:
        desk.get("/desk/", {"scope": "team"})
    add_cases(25)
    with django_assert_max_num_queries(10) as many:
        response = desk.get("/desk/", {"scope": "team", "severity": "critical"})
    assert len(queue_ids(response)) == 50
    assert len(many.captured_queries) == len(few.captured_queries)


def test_queue_is_for_desk_roles_only(client):
    assert client.get("/desk/").status_code == 302
    client.force_login(UserFactory(role=Role.SELLER))
    assert client.get("/desk/").status_code == 403


# --- The case page --------------------------------------------------------------------------


def test_case_page_shows_the_case_its_seller_and_its_deadlines(desk, specialist):
    seller = SellerFactory(seller_id="A-SUNNY", name="Sunny Goods")
    EmergencyContactFactory(seller=seller, phone="+14155550101")
    AssuranceState.objects.create(seller=seller, enrolled=True, enrolled_since=dt.date(2026, 1, 2))
    case = assured_case(
        hours_left=30,
        seller=seller,
        assigned_to=specialist,
        summary="Counterfeit complaint on ASIN B00X",
        evidence="Three buyer complaints with photos.",
        policy_area="counterfeit",
    )

    response = desk.get(detail_url(case))

    assert response.status_code == 200
    content = response.content.decode()
    assert f"Case {case.pk} · Counterfeit" in content
    assert text_of(response, "summary") == "Counterfeit complaint on ASIN B00X"
    assert "Three buyer complaints with photos." in content
    assert text_of(response, "case-status") == "Opened"
    assert "AHA assured" in content
    milestones = text_of(response, "milestones")
    assert "Reach deadline 16 Mar 2026, 18:00 UTC" in milestones
    assert "Opened 13 Mar 2026, 18:00 UTC" in milestones
    health = text_of(response, "seller-health")
    assert "Sunny Goods" in health
    assert "Enrolled since 2 Jan 2026" in health
    assert text_of(response, "emergency-contact") == "+1 415-555-0101 Verified"
    assert "Assigned to Sam Rivera" in text_of(response, "assigned-to")
    assert re.search(r'class="countdown countdown-ok"[^>]*>1 d 06 h 00 m left<', content)


def test_case_page_of_an_unassured_case_with_an_unverified_contact(desk, specialist):
    seller = SellerFactory()
    EmergencyContactFactory(seller=seller, verified_at=None, verified_by="")
    case = unassured_case(seller=seller)

    response = desk.get(detail_url(case))

    assert text_of(response, "no-guarantee") == "No 72-hour guarantee"
    assert "Reach deadline No 72-hour guarantee" in text_of(response, "milestones")
    assert "Not verified" in text_of(response, "emergency-contact")
    assert "Not enrolled" in text_of(response, "seller-health")
    assert "countdown" not in response.content.decode().split('data-testid="case-status"')[1][:300]


def test_specialist_sees_exactly_the_transitions_they_may_fire(desk, specialist):
    case = assured_case(hours_left=30, assigned_to=specialist)
    assert buttons(desk.get(detail_url(case))) == ["Record contact", "Escalate"]

    case_transition(case_id=case.pk, name="contact", by=specialist)
    response = desk.get(detail_url(case))
    # No plan yet: remediation cannot start, and the page says why.
    assert buttons(response) == ["Escalate"]
    assert "Add a plan step to start remediation." in response.content.decode()

    step = remediation_step_add(
        case_id=case.pk, by=specialist, text="Fix", owner="seller", due_on=dt.date(2026, 3, 20)
    )
    assert buttons(desk.get(detail_url(case))) == ["Start remediation", "Escalate"]
    case_transition(case_id=case.pk, name="start_remediation", by=specialist)
    response = desk.get(detail_url(case))
    assert buttons(response) == ["Escalate"]
    assert "Mark every plan step done to resolve the case." in response.content.decode()
    desk.post(f"/desk/cases/{case.pk}/steps/{step.pk}/done/")
    response = desk.get(detail_url(case))
    assert buttons(response) == ["Resolve", "Escalate"]
    assert '<label for="reason-resolve">Reason to resolve</label>' in response.content.decode()

    case_transition(case_id=case.pk, name="escalate", by=specialist, reason="Stopped answering")
    response = desk.get(detail_url(case))
    assert buttons(response) == []
    assert "Nothing can be done to this escalated case by you now." in response.content.decode()


def test_manager_may_reinstate_and_assign_where_a_specialist_may_not(
    client, desk, specialist, manager
):
    case = assured_case(hours_left=30, assigned_to=specialist)
    case_transition(case_id=case.pk, name="escalate", by=specialist, reason="No answer")

    specialist_page = desk.get(detail_url(case)).content.decode()
    assert "Reinstate" not in specialist_page
    assert 'name="assigned_to"' not in specialist_page

    client.force_login(manager)
    response = client.get(detail_url(case))
    assert buttons(response) == ["Reinstate"]
    assert '<select name="assigned_to"' in response.content.decode()
    assert "Sam Rivera" in response.content.decode()


# --- Transitions ----------------------------------------------------------------------------


def test_recording_contact_moves_the_case_and_says_so(desk, specialist):
    case = assured_case(hours_left=30, assigned_to=specialist)

    response = desk.post(transition_url(case, "contact"), follow=True)

    assert response.redirect_chain == [(detail_url(case), 302)]
    assert messages_of(response) == ["The case was contacted."]
    case.refresh_from_db()
    assert case.status == Case.Status.CONTACTED
    assert case.sla_met is True
    event = case.events.get(kind=CaseEvent.Kind.TRANSITION)
    assert (event.actor, event.from_status, event.to_status) == (specialist, "opened", "contacted")
    timeline = text_of(response, "timeline")
    assert "Record contact Opened → Contacted Sam Rivera · 15 Mar 2026, 12:00 UTC" in timeline


def test_a_transition_no_longer_possible_is_a_conflict_naming_the_current_state(
    desk, specialist, colleague
):
    case = assured_case(hours_left=30, assigned_to=specialist)
    # Someone else reached the seller while this page was open.
    case_transition(case_id=case.pk, name="contact", by=colleague)

    response = desk.post(transition_url(case, "contact"), follow=True)

    assert response.status_code == 200
    assert response.redirect_chain == [(detail_url(case), 302)]
    assert messages_of(response) == ["This case is contacted: it cannot be contacted now."]
    assert 'class="message message-error"' in response.content.decode()
    assert case.events.filter(kind=CaseEvent.Kind.TRANSITION).count() == 1

    response = desk.post(transition_url(case, "start_remediation"), follow=True)
    assert messages_of(response) == [
        "Add at least one plan step before starting remediation. The case is contacted."
    ]


def test_a_missing_reason_changes_nothing(desk, specialist):
    case = assured_case(hours_left=30, assigned_to=specialist)

    response = desk.post(transition_url(case, "escalate"), {"reason": "   "}, follow=True)

    assert messages_of(response) == ["Say why: escalate needs a reason."]
    case.refresh_from_db()
    assert case.status == Case.Status.OPENED
    assert not case.events.filter(kind=CaseEvent.Kind.TRANSITION).exists()

    desk.post(transition_url(case, "escalate"), {"reason": "Seller refuses to talk"})
    case.refresh_from_db()
    assert case.status == Case.Status.ESCALATED
    assert case.escalation_note == "Seller refuses to talk"


def test_a_transition_the_user_may_never_fire_is_forbidden(client, desk, specialist, manager):
    case = assured_case(hours_left=30, assigned_to=specialist)
    case_transition(case_id=case.pk, name="escalate", by=specialist, reason="No answer")

    response = desk.post(transition_url(case, "reinstate"), {"reason": "Found them"})
    assert response.status_code == 403
    assert "You can’t open this page" in response.content.decode()
    case.refresh_from_db()
    assert case.status == Case.Status.ESCALATED

    assert desk.post(transition_url(case, "teleport")).status_code == 404
    assert desk.get(transition_url(case, "reinstate")).status_code == 405

    seller_login = UserFactory(role=Role.SELLER)
    client.force_login(seller_login)
    assert client.post(transition_url(case, "reinstate"), {"reason": "x"}).status_code == 403

    client.force_login(manager)
    response = client.post(transition_url(case, "reinstate"), {"reason": "Found them"}, follow=True)
    assert messages_of(response) == ["The case was reinstated."]
    case.refresh_from_db()
    assert case.status == Case.Status.CONTACTED


def test_an_unknown_case_is_not_found(desk):
    assert desk.get("/desk/cases/999999/").status_code == 404
    assert desk.post("/desk/cases/999999/transitions/contact/").status_code == 404


# --- Notes, plan, assignment ----------------------------------------------------------------


def test_specialist_adds_a_note_that_shows_in_the_notes_and_the_timeline(desk, specialist):
    case = assured_case(hours_left=30, assigned_to=specialist)

    response = desk.post(
        f"/desk/cases/{case.pk}/notes/", {"text": "Left a voicemail."}, follow=True
    )

    assert response.redirect_chain == [(f"{detail_url(case)}#notes", 302)]
    assert messages_of(response) == ["Note added."]
    assert "Sam Rivera" in text_of(response, "notes")
    assert "Left a voicemail." in text_of(response, "notes")
    assert "Note Sam Rivera · 15 Mar 2026, 12:00 UTC Left a voicemail." in text_of(
        response, "timeline"
    )


def test_an_empty_note_is_refused_on_the_form(desk, specialist):
    case = assured_case(hours_left=30, assigned_to=specialist)
    response = desk.post(f"/desk/cases/{case.pk}/notes/", {"text": "  "})
    assert response.status_code == 200
    assert "Write something in the note." in response.content.decode()
    assert not CaseNote.objects.exists()


def test_specialist_adds_plan_steps_and_marks_them_done(desk, specialist):
    case = assured_case(hours_left=30, assigned_to=specialist)
    case_transition(case_id=case.pk, name="contact", by=specialist)

    response = desk.post(
        f"/desk/cases/{case.pk}/steps/",
        {"text": "Refund the three buyers", "owner": "seller", "due_on": "2026-03-20"},
        follow=True,
    )

    assert response.redirect_chain == [(f"{detail_url(case)}#plan", 302)]
    assert messages_of(response) == ["Plan step added."]
    assert "Refund the three buyers Seller 20 Mar 2026 Mark done" in text_of(response, "plan")
    assert "Plan step added Sam Rivera" in text_of(response, "timeline")
    step = RemediationStep.objects.get()

    response = desk.post(f"/desk/cases/{case.pk}/steps/{step.pk}/done/", follow=True)

    assert messages_of(response) == ["Marked “Refund the three buyers” done."]
    assert "Refund the three buyers Seller 20 Mar 2026 Done 15 Mar 2026" in text_of(
        response, "plan"
    )
    assert "Plan step done Sam Rivera" in text_of(response, "timeline")
    again = desk.post(f"/desk/cases/{case.pk}/steps/{step.pk}/done/", follow=True)
    assert messages_of(again) == ["“Refund the three buyers” was already done."]
    assert case.events.filter(kind=CaseEvent.Kind.STEP_DONE).count() == 1


def test_a_step_with_bad_input_is_refused_on_the_form(desk, specialist):
    case = assured_case(hours_left=30, assigned_to=specialist)
    response = desk.post(
        f"/desk/cases/{case.pk}/steps/", {"text": "", "owner": "robot", "due_on": "soon"}
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert "Say what has to be done." in content
    assert "Select a valid choice. robot is not one of the available choices." in content
    assert "Enter a date, e.g. 2026-03-31." in content
    assert not RemediationStep.objects.exists()


def test_a_closed_case_takes_no_new_steps(desk, specialist):
    case = assured_case(hours_left=30, assigned_to=specialist)
    case_transition(case_id=case.pk, name="escalate", by=specialist, reason="Gone")
    assert "Add a step" not in desk.get(detail_url(case)).content.decode()
    response = desk.post(
        f"/desk/cases/{case.pk}/steps/",
        {"text": "Late", "owner": "seller", "due_on": "2026-03-20"},
        follow=True,
    )
    [refusal] = messages_of(response)
    assert refusal.endswith("escalated: it takes no new plan steps.")
    assert not RemediationStep.objects.exists()


def test_a_step_of_another_case_is_not_found(desk, specialist):
    case = assured_case(hours_left=30, assigned_to=specialist)
    other = assured_case(hours_left=30, assigned_to=specialist)
    step = remediation_step_add(
        case_id=other.pk, by=specialist, text="Fix", owner="seller", due_on=dt.date(2026, 3, 20)
    )
    assert desk.post(f"/desk/cases/{case.pk}/steps/{step.pk}/done/").status_code == 404
    step.refresh_from_db()
    assert step.done_at is None


def test_only_a_manager_assigns_a_case(client, desk, specialist, colleague, manager):
    case = assured_case(hours_left=30, assigned_to=specialist)

    refused = desk.post(f"/desk/cases/{case.pk}/assign/", {"assigned_to": colleague.pk})
    assert refused.status_code == 403
    case.refresh_from_db()
    assert case.assigned_to == specialist

    client.force_login(manager)
    response = client.post(
        f"/desk/cases/{case.pk}/assign/", {"assigned_to": colleague.pk}, follow=True
    )
    assert messages_of(response) == ["The case is assigned to Kim Lee."]
    case.refresh_from_db()
    assert case.assigned_to == colleague
    assert "Assignment Max Moreau" in text_of(response, "timeline")
    assert "Assigned to kim." in text_of(response, "timeline")

    # Only specialists are offered, and anything else is refused.
    stranger = UserFactory(role=Role.SELLER)
    response = client.post(
        f"/desk/cases/{case.pk}/assign/", {"assigned_to": stranger.pk}, follow=True
    )
    assert messages_of(response) == [
        "Select a valid choice. That choice is not one of the available choices."
    ]
    response = client.post(f"/desk/cases/{case.pk}/assign/", {"assigned_to": ""}, follow=True)
    assert messages_of(response) == ["The case is assigned to nobody."]
    case.refresh_from_db()
    assert case.assigned_to is None


# --- New case -------------------------------------------------------------------------------


def test_specialist_opens_a_case_for_an_enrolled_seller(desk, specialist):
    seller = SellerFactory(seller_id="A-SUNNY", name="Sunny Goods")
    AssuranceState.objects.create(seller=seller, enrolled=True)
    assert desk.get("/desk/cases/new/").status_code == 200
    assert "New case" in desk.get("/desk/").content.decode()

    response = desk.post(
        "/desk/cases/new/",
        {
            "seller_id": " A-SUNNY ",
            "policy_area": "counterfeit",
            "severity": "critical",
            "summary": "Counterfeit complaint",
            "evidence": "Buyer photos",
        },
        follow=True,
    )

    case = Case.objects.get()
    assert response.redirect_chain == [(detail_url(case), 302)]
    assert messages_of(response) == [f"Case {case.pk} opened for Sunny Goods."]
    assert case.assured
    assert case.reach_deadline == NOW + dt.timedelta(hours=72)
    assert case.events.get(kind=CaseEvent.Kind.OPENED).actor == specialist
    # The on-duty specialist of the store got it.
    assert case.assigned_to == specialist


def test_new_case_form_names_the_fields_in_error(desk):
    response = desk.post(
        "/desk/cases/new/",
        {"seller_id": "NOPE", "policy_area": "gardening", "severity": "", "summary": ""},
    )
    content = response.content.decode()
    assert response.status_code == 200
    assert '<div class="error" id="id_seller_id_error" role="alert">' in content
    assert "No seller has the id “NOPE”." in content
    assert "Select a valid choice. gardening is not one of the available choices." in content
    assert content.count("This field is required.") == 2
    assert 'value="NOPE"' in content
    assert not Case.objects.exists()


def test_new_case_for_a_seller_not_enrolled_warns_of_no_guarantee(desk):
    SellerFactory(seller_id="A-NEW")
    response = desk.post(
        "/desk/cases/new/",
        {"seller_id": "A-NEW", "policy_area": "other_policy", "severity": "high", "summary": "x"},
        follow=True,
    )
    case = Case.objects.get()
    assert not case.assured
    expected = (
        f"Case {case.pk} opened for {case.seller.name}. "
        "The seller is not enrolled: no 72-hour guarantee."
    )
    assert messages_of(response) == [expected]


def test_new_case_page_is_not_for_sellers(client):
    client.force_login(UserFactory(role=Role.SELLER))
    assert client.get("/desk/cases/new/").status_code == 403


def test_a_closed_case_plan_cannot_be_ticked_off(client):
    from cases.models import RemediationStep
    from cases.services import case_open, case_transition, remediation_step_add

    specialist = SpecialistFactory().user
    case, _ = case_open(
        seller=SellerFactory(), policy_area="counterfeit", severity="high", summary="x"
    )
    step = remediation_step_add(
        case_id=case.pk,
        by=specialist,
        text="Remove listing",
        owner="seller",
        due_on=dt.date(2030, 1, 1),
    )
    case_transition(case_id=case.pk, name="escalate", by=specialist, reason="no reply")
    client.force_login(specialist)
    response = client.post(f"/desk/cases/{case.pk}/steps/{step.pk}/done/", follow=True)
    assert "its plan is closed" in response.content.decode()
    assert RemediationStep.objects.get(pk=step.pk).done_at is None
