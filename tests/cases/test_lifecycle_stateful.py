"""The case lifecycle under random use: any transition, by anyone, with any reason.

A hypothesis state machine fires the five transitions of docs/domain.md "Cases" through
``cases.services`` as a seller, a specialist, a manager, an administrator or a system
process (the sweep), with reasons that are sometimes blank, and adds and completes plan
steps in between. Each action's answer is predicted from the DESIGN graph written out
below (not read from the model), and after every step the case and its audit trail are
checked: the status is reachable from *opened*, the transition events replay from
*opened* to the current status, refused actions changed nothing, reinstatement is a
manager's act, and the plan conditions of remediation and resolution held.
"""

import datetime as dt
from collections import deque
from collections.abc import Callable

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from accounts.roles import Role
from cases.models import Case, CaseEvent, RemediationStep
from cases.services import (
    CaseConflict,
    case_open,
    case_transition,
    remediation_step_add,
    remediation_step_complete,
)
from tests.factories import AdminFactory, SellerFactory, UserFactory

# --- docs/domain.md "Cases", written out by hand -------------------------------------------

OPENED, CONTACTED, IN_REMEDIATION, RESOLVED, ESCALATED = (
    "opened",
    "contacted",
    "in_remediation",
    "resolved",
    "escalated",
)
# (from, transition) → to: the diagram, edge by edge.
GRAPH = {
    (OPENED, "contact"): CONTACTED,
    (CONTACTED, "start_remediation"): IN_REMEDIATION,
    (IN_REMEDIATION, "resolve"): RESOLVED,
    (OPENED, "escalate"): ESCALATED,
    (CONTACTED, "escalate"): ESCALATED,
    (IN_REMEDIATION, "escalate"): ESCALATED,
    (ESCALATED, "reinstate"): CONTACTED,
}
# Account-health cases only, fired by the evaluation (cases.health), never by a person.
RECOVER = {(status, "recover"): RESOLVED for status in (OPENED, CONTACTED, IN_REMEDIATION)}
TRANSITIONS = ["contact", "start_remediation", "resolve", "escalate", "reinstate"]
# Resolution, escalation and reinstatement are recorded with their reason.
NEEDS_REASON = {"resolve", "escalate", "reinstate"}
OPEN = {OPENED, CONTACTED, IN_REMEDIATION}
# What each transition may change besides the status (and updated_at): "nothing else".
FIELDS_OF = {
    "contact": {"contacted_at", "sla_met", "last_seller_activity_at"},
    "start_remediation": {"remediation_started_at", "last_seller_activity_at"},
    "resolve": {"resolved_at", "resolution_reason"},
    "escalate": {"escalated_at", "escalation_reason", "escalation_note"},
    "reinstate": {
        "reinstated_at",
        "escalated_at",
        "escalation_reason",
        "escalation_note",
        "contacted_at",
        "sla_met",
    },
}


def reachable_from_opened() -> set[str]:
    seen, todo = {OPENED}, deque([OPENED])
    while todo:
        state = todo.popleft()
        for (source, _name), target in GRAPH.items():
            if source == state and target not in seen:
                seen.add(target)
                todo.append(target)
    return seen


REACHABLE = reachable_from_opened()

SELLER, SPECIALIST, MANAGER, ADMIN, SWEEP = "seller", "specialist", "manager", "admin", "sweep"
ROLES = [SELLER, SPECIALIST, MANAGER, ADMIN, SWEEP]
DESK_ROLES = [SPECIALIST, MANAGER, ADMIN]
# Who may reinstate: managers, and administrators (superusers may do anything).
REINSTATERS = {MANAGER, ADMIN}

reasons = st.one_of(
    st.sampled_from(["", " ", "\n\t", "Seller called back", "No answer after 72 h", "a\x00b"]),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12),
)
# Mostly real steps; a blank one now and then must be refused.
step_texts = st.sampled_from(
    ["Remove the listing", "Send supplier invoices", "Answer the buyer", "  ", ""]
)


def expected_answer(
    *, status: str, name: str, role: str, reason: str, steps: int, open_steps: int
) -> str | type[Exception]:
    """The new status, or the error ``case_transition`` promises, in its documented order.

    Permission (403) first, then a missing or unstorable reason (400), then the state and
    the plan conditions (409).
    """
    if role == SELLER or (name == "reinstate" and role not in REINSTATERS):
        return PermissionDenied
    if "\x00" in reason:  # text PostgreSQL cannot store: bad input on every database
        return ValidationError
    if name in NEEDS_REASON and not reason.strip():
        return ValidationError
    target = GRAPH.get((status, name))
    if target is None:
        return CaseConflict
    if name == "start_remediation" and steps == 0:
        return CaseConflict
    if name == "resolve" and open_steps:
        return CaseConflict
    return target


def attempt(call: Callable[[], object]) -> object:
    """What the service answered: its result, or the refusal it raised."""
    try:
        return call()
    except (PermissionDenied, ValidationError, CaseConflict) as refusal:
        return refusal


def snapshot(case_id: int) -> dict:
    """Everything stored about the case: its row, its plan and the size of its trail."""
    return {
        "case": Case.objects.filter(pk=case_id).values().get(),
        "steps": list(
            RemediationStep.objects.filter(case_id=case_id)
            .order_by("pk")
            .values_list("pk", "done_at")
        ),
        "events": CaseEvent.objects.filter(case_id=case_id).count(),
    }


class CaseLifecycle(RuleBasedStateMachine):
    """One case of one seller, and the people (and the sweep) who act on it."""

    def __init__(self) -> None:
        super().__init__()
        # Each run of the machine is rolled back at its end, so runs do not see each other.
        self._atomic = transaction.atomic()
        self._atomic.__enter__()
        seller = SellerFactory()
        seller_user = UserFactory(role=Role.SELLER)
        seller.users.add(seller_user)
        self.users = {
            SELLER: seller_user,
            SPECIALIST: UserFactory(role=Role.SPECIALIST),
            MANAGER: UserFactory(role=Role.MANAGER),
            ADMIN: AdminFactory(),
            SWEEP: None,
        }
        case, created = case_open(
            seller=seller, policy_area="counterfeit", severity="critical", summary="Random walk"
        )
        assert created
        self.case_id = case.pk
        # The model of what must be true, kept apart from the database.
        self.status = OPENED
        self.events = CaseEvent.objects.filter(case_id=case.pk).count()
        self.step_ids: list[int] = []
        self.done_step_ids: set[int] = set()

    def teardown(self) -> None:
        transaction.set_rollback(True)
        self._atomic.__exit__(None, None, None)

    # --- actions ---------------------------------------------------------------------

    @rule(name=st.sampled_from(TRANSITIONS), role=st.sampled_from(ROLES), reason=reasons)
    def fire(self, name: str, role: str, reason: str) -> None:
        self.fire_as(name, role, reason)

    @rule(data=st.data())
    def fire_a_transition_of_the_current_status(self, data: st.DataObject) -> None:
        """Mostly what the graph allows now, so that runs get deep (resolve, reinstate)."""
        name = data.draw(
            st.sampled_from(
                [name for (source, name) in GRAPH if source == self.status] or TRANSITIONS
            ),
            label="name",
        )
        role = data.draw(
            st.sampled_from([MANAGER, ADMIN] if name == "reinstate" else [*DESK_ROLES, SWEEP]),
            label="role",
        )
        reason = data.draw(st.sampled_from(["Seller called back", "No answer", ""]), "reason")
        if data.draw(st.booleans(), label="plan first"):
            # Do the plan work the transition needs, as a specialist would before clicking.
            if name == "start_remediation" and not self.step_ids:
                self.add_step(SPECIALIST, "seller", "Remove the listing")
            if name == "resolve":
                for index in range(len(self.step_ids)):
                    self.complete_step(index, SPECIALIST)
        self.fire_as(name, role, reason)

    def fire_as(self, name: str, role: str, reason: str) -> None:
        expected = expected_answer(
            status=self.status,
            name=name,
            role=role,
            reason=reason,
            steps=len(self.step_ids),
            open_steps=len(self.step_ids) - len(self.done_step_ids),
        )
        before = snapshot(self.case_id)
        kwargs = {"by": self.users[role], "reason": reason}
        if role == SWEEP:
            kwargs["process"] = "sweep"
        answer = attempt(lambda: case_transition(case_id=self.case_id, name=name, **kwargs))
        story = f"{role} firing {name} on a {self.status} case: expected {expected}, got {answer!r}"
        if isinstance(answer, Exception):
            assert isinstance(expected, type), story
            assert isinstance(answer, expected), story
            assert snapshot(self.case_id) == before, f"refused {name} by {role} changed the case"
            return
        assert expected == GRAPH.get((self.status, name)), story
        self.check_fields_of_transition(name, reason, before)
        self.status = expected
        self.events += 1
        last = CaseEvent.objects.filter(case_id=self.case_id).order_by("-pk").first()
        assert (last.kind, last.transition, last.reason) == (
            CaseEvent.Kind.TRANSITION,
            name,
            reason.strip(),
        )
        assert last.actor == self.users[role]
        assert last.actor_process == ("sweep" if role == SWEEP else "")

    def check_fields_of_transition(self, name: str, reason: str, before: dict) -> None:
        after = Case.objects.filter(pk=self.case_id).values().get()
        # The timer (next_action_at) is set again by every transition: tested in tests/cases/
        # test_timers.py.
        changed = {field for field, value in after.items() if before["case"][field] != value} - {
            "status",
            "updated_at",
            "next_action_at",
        }
        assert changed <= FIELDS_OF[name], f"{name} changed {changed - FIELDS_OF[name]}"
        if name == "contact":
            assert after["contacted_at"] is not None
        elif name == "start_remediation":
            assert after["remediation_started_at"] is not None
        elif name == "resolve":
            assert after["resolved_at"] is not None
            assert after["resolution_reason"] == reason.strip()
        elif name == "escalate":
            assert after["escalated_at"] is not None
            assert after["escalation_reason"] == Case.EscalationReason.MANUAL
            assert after["escalation_note"] == reason.strip()
        elif name == "reinstate":
            assert after["reinstated_at"] is not None
            assert after["contacted_at"] is not None
            assert (after["escalated_at"], after["escalation_reason"]) == (None, "")

    @rule(
        role=st.sampled_from(DESK_ROLES),
        owner=st.sampled_from(["seller", "specialist"]),
        text=step_texts,
    )
    def add_step(self, role: str, owner: str, text: str) -> None:
        before = snapshot(self.case_id)
        answer = attempt(
            lambda: remediation_step_add(
                case_id=self.case_id,
                by=self.users[role],
                text=text,
                owner=owner,
                due_on=dt.date(2030, 1, 31),
            )
        )
        if isinstance(answer, CaseConflict):
            assert self.status not in OPEN, f"an {self.status} case refused a plan step"
            assert snapshot(self.case_id) == before
            return
        if isinstance(answer, ValidationError):
            assert self.status in OPEN
            assert not text.strip()
            assert "text" in answer.message_dict
            assert snapshot(self.case_id) == before
            return
        assert self.status in OPEN, f"a {self.status} case took a new plan step"
        assert text.strip()
        self.step_ids.append(answer.pk)
        self.events += 1
        assert Case.objects.get(pk=self.case_id).status == self.status

    @precondition(lambda self: self.step_ids)
    @rule(index=st.integers(min_value=0, max_value=50), role=st.sampled_from(DESK_ROLES))
    def complete_step(self, index: int, role: str) -> None:
        step_id = self.step_ids[index % len(self.step_ids)]
        before = Case.objects.filter(pk=self.case_id).values().get()
        answer = attempt(lambda: remediation_step_complete(step_id=step_id, by=self.users[role]))
        after = Case.objects.filter(pk=self.case_id).values().get()
        if isinstance(answer, CaseConflict):
            # A closed case's plan is closed: an open step stays open and nothing changes.
            assert self.status not in OPEN, f"an {self.status} case refused to tick a step"
            assert step_id not in self.done_step_ids
            assert RemediationStep.objects.get(pk=step_id).done_at is None
            assert after == before
            return
        assert not isinstance(answer, Exception), answer
        assert self.status in OPEN or step_id in self.done_step_ids
        # Completing a step is plan work: the status and the milestones stay as they were.
        for field in ("status", *set().union(*FIELDS_OF.values()) - {"last_seller_activity_at"}):
            assert after[field] == before[field], field
        if step_id not in self.done_step_ids:
            self.done_step_ids.add(step_id)
            self.events += 1
        assert RemediationStep.objects.get(pk=step_id).done_at is not None

    # --- invariants ------------------------------------------------------------------

    @invariant()
    def status_is_the_expected_one_and_reachable(self) -> None:
        status = Case.objects.values_list("status", flat=True).get(pk=self.case_id)
        assert status == self.status
        assert status in REACHABLE

    @invariant()
    def trail_replays_to_the_current_status(self) -> None:
        events = list(CaseEvent.objects.filter(case_id=self.case_id).select_related("actor"))
        assert len(events) == self.events
        assert events[0].kind == CaseEvent.Kind.OPENED
        assert events[0].to_status == OPENED
        state = OPENED
        for row in events:
            if row.kind != CaseEvent.Kind.TRANSITION:
                assert (row.transition, row.from_status, row.to_status) in {
                    ("", "", ""),
                    ("", "", OPENED),
                }
                continue
            assert row.from_status == state, f"{row} does not follow {state}"
            assert GRAPH.get((row.from_status, row.transition)) == row.to_status, (
                f"{row} is not an edge of the DESIGN graph"
            )
            state = row.to_status
        assert state == self.status

    @invariant()
    def only_managers_reinstate_and_sellers_never_fire(self) -> None:
        for row in CaseEvent.objects.filter(
            case_id=self.case_id, kind=CaseEvent.Kind.TRANSITION
        ).select_related("actor"):
            assert row.actor != self.users[SELLER], f"the seller fired {row.transition}"
            if row.transition == "reinstate":
                assert row.actor is not None, "a system process reinstated a case"
                assert row.actor.has_perm("cases.reinstate_case")
            else:
                assert row.actor is not None or row.actor_process

    @invariant()
    def plan_conditions_held(self) -> None:
        steps = RemediationStep.objects.filter(case_id=self.case_id)
        if self.status == RESOLVED:
            assert not steps.filter(done_at__isnull=True).exists()
        if self.status in {IN_REMEDIATION, RESOLVED}:
            assert steps.exists()
        # In the trail: remediation started with a plan, resolution with every step done.
        events = list(CaseEvent.objects.filter(case_id=self.case_id).order_by("pk"))
        for position, row in enumerate(events):
            if row.kind != CaseEvent.Kind.TRANSITION:
                continue
            earlier = events[:position]
            added = sum(e.kind == CaseEvent.Kind.STEP_ADDED for e in earlier)
            done = sum(e.kind == CaseEvent.Kind.STEP_DONE for e in earlier)
            if row.transition == "start_remediation":
                assert added >= 1, "remediation started without a plan step"
            if row.transition == "resolve":
                assert added >= 1
                assert done == added, "resolved with an unfinished plan step"


def test_transition_graph_of_the_model_is_the_design_graph():
    field = Case._meta.get_field("status")
    edges = {(t.source, t.name): t.target for t in field.get_all_transitions(Case)}
    assert edges == GRAPH | RECOVER
    assert set(Case.Status.values) == REACHABLE


@pytest.mark.django_db
def test_random_transitions_by_anyone_keep_the_lifecycle_and_its_trail_sound():
    run_state_machine_as_test(
        CaseLifecycle,
        settings=settings(
            max_examples=50,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
        ),
    )
