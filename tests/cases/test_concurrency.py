"""Two people or workers firing transitions on one case at once (docs/domain.md "Cases").

On PostgreSQL, threads with connections of their own really race: they meet at a
barrier and then fire at the same moment; ``case_transition`` locks the row, so exactly
one of the conflicting transitions wins and the others get ``CaseConflict`` (HTTP 409).
On any database, django-fsm's ``ConcurrentTransitionMixin`` refuses to save a case whose
status moved since it was read, and the service turns that into ``CaseConflict`` too.
"""

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext

import pytest
from django.db import connection, transaction
from django_fsm import ConcurrentTransition
from django_fsm.signals import pre_transition

from accounts.roles import Role
from cases.models import Case, CaseEvent, RemediationStep
from cases.services import (
    CaseConflict,
    case_open,
    case_transition,
    remediation_step_add,
    remediation_step_complete,
)
from tests.builders import race as run_together
from tests.factories import SellerFactory, UserFactory

THREADS = 8


def on_postgres(test: Callable) -> Callable:
    """Marks a race test: PostgreSQL only, committed for real so other connections see it."""
    for mark in (
        pytest.mark.postgres,
        pytest.mark.skipif(
            connection.vendor != "postgresql",
            reason="real races need PostgreSQL: row locks and concurrent connections "
            "(SQLite serialises every write); run with DATABASE_URL=postgres://...",
        ),
        pytest.mark.django_db(transaction=True),
    ):
        test = mark(test)
    return test


@pytest.fixture
def specialist():
    user = UserFactory(role=Role.SPECIALIST)
    user.has_perm("accounts.use_desk")  # fill the permission cache before threads share it
    return user


def new_case() -> Case:
    case, _ = case_open(
        seller=SellerFactory(), policy_area="counterfeit", severity="critical", summary="Race"
    )
    return case


def transition_events(case: Case) -> list[CaseEvent]:
    return list(CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.TRANSITION))


@contextmanager
def slow_transitions(seconds: float = 0.2) -> Iterator[None]:
    """Holds each transition a moment, so that the others arrive while the first is in it."""

    def wait(**kwargs: object) -> None:
        threading.Event().wait(seconds)

    pre_transition.connect(wait, sender=Case, weak=False, dispatch_uid="test-slow-transition")
    try:
        yield
    finally:
        pre_transition.disconnect(sender=Case, dispatch_uid="test-slow-transition")


def race(calls: list[Callable[[], object]]) -> list[object]:
    """Runs the calls together (``tests.builders.race``); each answer is "ok" or the error."""
    return [answer if isinstance(answer, Exception) else "ok" for answer in run_together(calls)]


def fire(case: Case, name: str, by, reason: str = "") -> Callable[[], object]:
    return lambda: case_transition(case_id=case.pk, name=name, by=by, reason=reason)


def tally(answers: list[object]) -> tuple[int, int]:
    """(successes, conflicts); anything else fails the test with what it was."""
    unexpected = [a for a in answers if a != "ok" and not isinstance(a, CaseConflict)]
    assert not unexpected, unexpected
    return answers.count("ok"), sum(isinstance(a, CaseConflict) for a in answers)


def in_remediation_with_plan_done(by) -> Case:
    case = new_case()
    case_transition(case_id=case.pk, name="contact", by=by)
    step = remediation_step_add(
        case_id=case.pk, by=by, text="Remove the listing", owner="seller", due_on="2030-01-31"
    )
    case_transition(case_id=case.pk, name="start_remediation", by=by)
    remediation_step_complete(step_id=step.pk, by=by)
    return case


# --- real races (PostgreSQL) -------------------------------------------------------------


@on_postgres
@pytest.mark.parametrize("held", [False, True], ids=["at-once", "winner-held"])
def test_resolve_and_escalate_at_once_exactly_one_wins(specialist, held):
    case = in_remediation_with_plan_done(specialist)
    calls = [fire(case, "resolve", specialist, "Plan done")] * (THREADS // 2) + [
        fire(case, "escalate", specialist, "Seller stopped answering")
    ] * (THREADS // 2)
    with slow_transitions() if held else nullcontext():
        answers = race(calls)

    assert tally(answers) == (1, THREADS - 1)
    case.refresh_from_db()
    winner = "resolve" if answers[: THREADS // 2].count("ok") else "escalate"
    assert case.status == {"resolve": "resolved", "escalate": "escalated"}[winner]
    assert [e.transition for e in transition_events(case)][-1] == winner
    # contact and start_remediation before the race, then the one winner.
    assert len(transition_events(case)) == 3
    assert all(error.status == case.status for error in answers if error != "ok")


@on_postgres
@pytest.mark.parametrize(("name", "target"), [("contact", "contacted"), ("escalate", "escalated")])
@pytest.mark.parametrize("held", [False, True], ids=["at-once", "winner-held"])
def test_same_transition_from_every_thread_happens_once(specialist, name, target, held):
    case = new_case()
    with slow_transitions() if held else nullcontext():
        answers = race([fire(case, name, specialist, "Seller answered")] * THREADS)

    assert tally(answers) == (1, THREADS - 1)
    case.refresh_from_db()
    assert case.status == target
    assert [(e.transition, e.from_status, e.to_status) for e in transition_events(case)] == [
        (name, "opened", target)
    ]


@on_postgres
@pytest.mark.parametrize("held", [False, True], ids=["at-once", "winner-held"])
def test_contact_and_escalate_at_once_run_one_after_the_other(specialist, held):
    """Escalating a contacted case is allowed, so both may win, but only in series.

    Escalate first: every contact conflicts. Contact first: one escalation still
    follows from *contacted*. Either way each transition wins at most once and the
    trail is one chain from *opened*.
    """
    case = new_case()
    calls = [fire(case, "contact", specialist)] * (THREADS // 2) + [
        fire(case, "escalate", specialist, "No answer")
    ] * (THREADS // 2)
    with slow_transitions() if held else nullcontext():
        answers = race(calls)

    contacts, escalations = answers[: THREADS // 2], answers[THREADS // 2 :]
    wins, conflicts = tally(answers)
    assert escalations.count("ok") == 1
    assert contacts.count("ok") <= 1
    assert (wins, conflicts) == (1 + contacts.count("ok"), THREADS - wins)
    case.refresh_from_db()
    assert case.status == "escalated"
    chain = [(e.transition, e.from_status, e.to_status) for e in transition_events(case)]
    if contacts.count("ok"):
        assert chain == [
            ("contact", "opened", "contacted"),
            ("escalate", "contacted", "escalated"),
        ]
        assert case.contacted_at is not None
    else:
        assert chain == [("escalate", "opened", "escalated")]
        assert case.contacted_at is None


@on_postgres
def test_completing_one_step_from_every_thread_records_it_once(specialist):
    case = new_case()
    step = remediation_step_add(
        case_id=case.pk, by=specialist, text="Send invoices", owner="seller", due_on="2030-01-31"
    )
    answers = race([lambda: remediation_step_complete(step_id=step.pk, by=specialist)] * THREADS)

    assert answers == ["ok"] * THREADS
    assert CaseEvent.objects.filter(case=case, kind=CaseEvent.Kind.STEP_DONE).count() == 1
    step.refresh_from_db()
    assert step.done_at is not None


@on_postgres
@pytest.mark.parametrize("held", [False, True], ids=["at-once", "winner-held"])
def test_a_step_added_while_resolving_never_leaves_a_resolved_case_with_open_steps(
    specialist, held
):
    case = in_remediation_with_plan_done(specialist)

    def add_step() -> None:
        remediation_step_add(
            case_id=case.pk, by=specialist, text="One more", owner="seller", due_on="2030-02-28"
        )

    with slow_transitions() if held else nullcontext():
        answers = race([fire(case, "resolve", specialist, "Plan done"), add_step] * 4)

    wins, _conflicts = tally(answers)
    case.refresh_from_db()
    open_steps = RemediationStep.objects.filter(case=case, done_at__isnull=True).count()
    resolved = answers[0::2].count("ok")
    added = answers[1::2].count("ok")
    assert resolved <= 1
    if case.status == "resolved":
        assert (resolved, open_steps) == (1, 0)
    else:
        # A step came first: the plan is not done, so no thread could resolve.
        assert (case.status, resolved) == ("in_remediation", 0)
        assert open_steps == added >= 1
    assert wins == resolved + added


# --- the guard on any database -----------------------------------------------------------


@pytest.mark.django_db
def test_a_stale_copy_of_a_case_cannot_be_saved_over_a_newer_status(specialist):
    case = new_case()
    first, second = Case.objects.get(pk=case.pk), Case.objects.get(pk=case.pk)

    with transaction.atomic():
        first.contact(by=specialist)
        first.save()
    with transaction.atomic():
        second.escalate(by=specialist, reason="No answer")
        with pytest.raises(ConcurrentTransition):
            second.save()

    case.refresh_from_db()
    assert case.status == "contacted"
    assert case.escalated_at is None
    # The stale escalation's event went with its rolled-back transaction.
    assert [e.transition for e in transition_events(case)] == ["contact"]


@pytest.mark.django_db
def test_the_service_turns_a_status_moved_under_it_into_a_conflict(specialist):
    """Another writer moves the case between the service's read and its write."""
    case = new_case()

    def another_writer(instance: Case, **kwargs: object) -> None:
        Case.objects.filter(pk=instance.pk).update(status="contacted")

    pre_transition.connect(another_writer, sender=Case, dispatch_uid="test-another-writer")
    try:
        with pytest.raises(CaseConflict) as conflict:
            case_transition(case_id=case.pk, name="escalate", by=specialist, reason="No answer")
    finally:
        pre_transition.disconnect(sender=Case, dispatch_uid="test-another-writer")

    assert "changed this case first" in str(conflict.value)
    # Nothing of the refused escalation is left. (The other writer ran inside the service's
    # transaction here, so its change went too: the conflict reports what is stored now.)
    case.refresh_from_db()
    assert case.status == conflict.value.status == "opened"
    assert conflict.value.allowed == ["contact", "escalate"]
    assert case.escalated_at is None
    assert transition_events(case) == []
