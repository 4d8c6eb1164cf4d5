"""Outreach at scale with real processes (docs/domain.md "Outreach and timers", "Scale").

A private Redis, a real `celery worker` (prefork, two processes) and a real `celery beat`
that sends the sweep every second, all on the test's PostgreSQL database. 500 assured
cases open at once:

1. every case gets its opening email, its first call and a text, each exactly once;
2. then 72 hours pass for half of them (their rows are rewritten: opened 73 h ago, the
   deadline an hour ago, due now) and each of those is also given a `sweep_case` task of
   its own, racing beat's sweeps: each is escalated as unreachable exactly once, the
   others stay opened.

The second test kills the worker with SIGKILL in the middle of each phase and starts
another. Deliveries the dead worker had taken out of Redis are not redelivered within the
hour (the broker's visibility timeout), and claims it held stay ``sending``: the sweep
gives them back after 2 and 5 minutes. The test does not wait those minutes: once the new
worker has emptied the queue, it sets the clocks of what is left (``enqueued_at``,
``claimed_at``) ten minutes back, as if the time had passed, and beat's next sweep must
recover them.

PostgreSQL only: SQLite has no row locks for parallel sweeps, and pytest-django's SQLite
test database lives in the test's process.
"""

import datetime as dt
import re
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import pytest
import redis
from django.db import connection
from django.db.models import Exists, OuterRef
from django.utils import timezone

from cases.models import Case, CaseEvent
from cases.services import case_open
from cases.tasks import sweep_case_task
from config.celery import app as celery_app
from notifications.models import ContactAttempt
from sellers.models import AssuranceState, EmergencyContact, Seller, Store
from tests.conftest import WorkerProcess, broker, database_url

pytestmark = [
    pytest.mark.integration,
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql",
        reason="worker processes share the test database on PostgreSQL only; "
        "run with DATABASE_URL=postgres://...",
    ),
    pytest.mark.django_db(transaction=True),
]

CASES = 500
SWEEP_INTERVAL_SECONDS = 1
# A bound for a failing run only: a passing one takes a fraction of it.
WAIT_SECONDS = 240
# Celery's default queue: a Redis list of that name.
QUEUE = "celery"

Channel = ContactAttempt.Channel
Status = ContactAttempt.Status
OUTREACH = Case.AttemptPurpose.OUTREACH
# What the console adapter and the test's email backend leave each outreach attempt as.
DELIVERED = {Channel.EMAIL: Status.SENT, Channel.CALL: Status.QUEUED, Channel.SMS: Status.QUEUED}
SENT_LINE = re.compile(r"Sent (call|sms|email) #(\d+) ")


def show(capsys: pytest.CaptureFixture, text: str) -> None:
    """Prints past pytest's capture: the figures are part of what these tests report."""
    with capsys.disabled():
        print(f"\n  {text}")  # noqa: T201


@contextmanager
def tasks_sent_to_broker() -> Iterator[None]:
    """This process queues tasks in Redis (the test settings run them inline)."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        yield
    finally:
        celery_app.conf.task_always_eager = previous


@dataclass
class Rig:
    """The processes of one test, and the clock of its phases."""

    redis_url: str
    start: Callable[..., WorkerProcess]
    env: dict[str, str]
    workers: list[WorkerProcess] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    began: float = field(default_factory=time.monotonic)

    def start_worker(self) -> WorkerProcess:
        worker = self.start(self.redis_url, pool="prefork", concurrency=2, env=self.env)
        self.workers.append(worker)
        return worker

    def queue_length(self) -> int:
        with redis.Redis.from_url(self.redis_url) as client:
            return client.llen(QUEUE)

    def mark(self, phase: str) -> None:
        self.timings[phase] = round(time.monotonic() - self.began, 1)

    def sends(self) -> Counter:
        """How many times the workers logged each attempt as sent, by attempt id."""
        return Counter(
            int(match.group(2))
            for worker in self.workers
            for match in SENT_LINE.finditer(worker.log.read_text())
        )

    def wait_until(self, what: str, check: Callable[[], bool], interval: float = 0.5) -> None:
        deadline = time.monotonic() + WAIT_SECONDS
        while not check():
            if time.monotonic() > deadline:
                logs = "\n".join(w.log.read_text()[-3000:] for w in self.workers)
                pytest.fail(f"Not within {WAIT_SECONDS} s: {what}.\n{progress()}\n{logs}")
            time.sleep(interval)

    def wait_for_quiet(self) -> None:
        """Until the queue is empty and nothing moved for a second."""
        last = None

        def quiet() -> bool:
            nonlocal last
            now = (self.queue_length(), progress())
            settled = now[0] == 0 and now == last
            last = now
            return settled

        self.wait_until("the queue empties and the database settles", quiet, interval=1)


@contextmanager
def commits_not_waiting_for_the_disk() -> Iterator[None]:
    """The throwaway test database need not survive a crash of PostgreSQL itself.

    Commits return before the WAL reaches the disk (``make test``'s cluster runs with
    fsync off anyway); what each connection sees, and row locks, are unchanged. For this
    test's connection and the workers', which connect after this.
    """
    name = connection.ops.quote_name(connection.settings_dict["NAME"])
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER DATABASE {name} SET synchronous_commit = off")
        cursor.execute("SET synchronous_commit = off")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"ALTER DATABASE {name} RESET synchronous_commit")
            cursor.execute("RESET synchronous_commit")


@pytest.fixture
def rig(redis_process, start_worker, start_beat, capsys) -> Iterator[Rig]:
    env = {
        "DATABASE_URL": database_url(),
        # Calls go out now, whatever the hour where the test runs.
        "AHA_QUIET_HOURS": "off",
        "AHA_SWEEP_INTERVAL_SECONDS": str(SWEEP_INTERVAL_SECONDS),
        # As in production: a worker keeps its database connection between tasks.
        "CONN_MAX_AGE": "60",
    }
    with commits_not_waiting_for_the_disk(), broker(redis_process.url), tasks_sent_to_broker():
        rig = Rig(redis_url=redis_process.url, start=start_worker, env=env)
        start_beat(redis_process.url, env=env)
        rig.mark("beat started")
        yield rig
    rig.mark("done")
    show(capsys, f"timings (s since start): {rig.timings}")


def enrolled_sellers(count: int) -> list[Seller]:
    """US sellers in the programme, each with a verified mobile number and an email."""
    store = Store.objects.get(code="US")
    sellers = Seller.objects.bulk_create(
        Seller(
            seller_id=f"I{n:07d}",
            name=f"Seller {n}",
            store=store,
            account_type=Seller.AccountType.PROFESSIONAL,
            email=f"seller{n}@sellers.example.test",
        )
        for n in range(count)
    )
    now = timezone.now()
    EmergencyContact.objects.bulk_create(
        # bulk_create skips save(), which sets `callable`: these numbers take calls and texts.
        EmergencyContact(
            seller=seller,
            phone=f"+1415555{n:04d}",
            verified_at=now,
            verified_by="upstream",
            callable=True,
        )
        for n, seller in enumerate(sellers)
    )
    AssuranceState.objects.bulk_create(
        AssuranceState(
            seller=seller,
            eligible=True,
            enrolled=True,
            contact_valid=True,
            enrolled_since=now.date(),
        )
        for seller in sellers
    )
    return sellers


def open_cases(sellers: list[Seller]) -> list[int]:
    """One case a seller, each opened (and its sweep queued) by case_open."""
    ids = []
    for n, seller in enumerate(sellers):
        case, _ = case_open(
            seller=seller,
            policy_area="counterfeit",
            severity="critical",
            summary=f"Counterfeit complaint {n}",
            upstream_id=f"INTEG-{n:05d}",
        )
        assert case.assured
        ids.append(case.pk)
    return ids


def _outreach(channel: str, status: str) -> Exists:
    return Exists(
        ContactAttempt.objects.filter(
            case=OuterRef("pk"), purpose=OUTREACH, channel=channel, status=status
        )
    )


def cases_not_yet_reached_out() -> int:
    missing = ~_outreach(Channel.EMAIL, Status.SENT)
    missing |= ~_outreach(Channel.CALL, Status.QUEUED)
    missing |= ~_outreach(Channel.SMS, Status.QUEUED)
    return Case.objects.filter(missing).count()


def unfinished_attempts() -> int:
    return ContactAttempt.objects.filter(status__in=[Status.PENDING, Status.SENDING]).count()


def outreach_done() -> bool:
    return unfinished_attempts() == 0 and cases_not_yet_reached_out() == 0


def progress() -> dict:
    return {
        "cases": dict(Counter(Case.objects.values_list("status", flat=True))),
        "attempts": dict(Counter(ContactAttempt.objects.values_list("status", flat=True))),
        "due": Case.objects.filter(next_action_at__lte=timezone.now()).count(),
    }


def let_deadlines_pass(case_ids: list[int]) -> None:
    """72 hours pass for these cases: opened 73 h ago, the deadline an hour ago, due now."""
    now = timezone.now()
    opened_at = now - dt.timedelta(hours=73)
    Case.objects.filter(pk__in=case_ids).update(
        opened_at=opened_at,
        reach_deadline=opened_at + dt.timedelta(hours=72),
        next_action_at=now,
    )
    # Each case also gets a sweep of its own, racing the sweeps beat sends.
    for pk in case_ids:
        sweep_case_task.delay(pk)


def escalated_count() -> int:
    return Case.objects.filter(status=Case.Status.ESCALATED).count()


def let_recovery_clocks_run_out() -> tuple[int, int]:
    """As if ten minutes passed for the deliveries the killed worker left behind."""
    ten_minutes_ago = timezone.now() - dt.timedelta(minutes=10)
    lost = ContactAttempt.objects.filter(status=Status.PENDING).update(enqueued_at=ten_minutes_ago)
    held = ContactAttempt.objects.filter(status=Status.SENDING).update(claimed_at=ten_minutes_ago)
    return lost, held


def assert_outreach_and_escalations(case_ids: list[int], past_deadline: list[int]) -> None:
    statuses = dict(Case.objects.values_list("pk", "status"))
    assert len(statuses) == CASES
    late = set(past_deadline)
    assert Counter(statuses[pk] for pk in late) == {Case.Status.ESCALATED: len(late)}
    in_time = set(case_ids) - late
    assert Counter(statuses[pk] for pk in in_time) == {Case.Status.OPENED: len(in_time)}
    assert set(Case.objects.filter(pk__in=late).values_list("escalation_reason", flat=True)) == {
        Case.EscalationReason.UNREACHABLE
    }

    escalations = CaseEvent.objects.filter(
        kind=CaseEvent.Kind.TRANSITION, transition="escalate"
    ).values_list("case_id", "from_status", "actor_process")
    assert Counter(case_id for case_id, _, _ in escalations) == Counter(late)
    assert {(source, actor) for _, source, actor in escalations} == {("opened", "deadline sweep")}

    # Exactly one opening email, one first call and one text per case, all delivered.
    per_case = Counter(
        ContactAttempt.objects.filter(purpose=OUTREACH).values_list("subject_id", "channel")
    )
    assert {key: n for key, n in per_case.items() if n != 1} == {}
    assert len(per_case) == 3 * CASES
    emails = Counter(
        ContactAttempt.objects.filter(purpose=OUTREACH, channel=Channel.EMAIL).values_list(
            "destination", flat=True
        )
    )
    assert set(emails.values()) == {1}
    assert len(emails) == CASES
    assert Counter(ContactAttempt.objects.values_list("channel", "status")) == dict.fromkeys(
        DELIVERED.items(), CASES
    )
    # Nobody was warned: the cases in time are 72 h from their deadline, the others past it.
    assert not ContactAttempt.objects.exclude(purpose=OUTREACH).exists()


def test_500_cases_are_reached_out_to_once_and_escalated_once_at_the_deadline(rig):
    sellers = enrolled_sellers(CASES)
    rig.mark("sellers created")
    rig.start_worker()
    rig.mark("worker ready")

    case_ids = open_cases(sellers)
    rig.mark("cases opened")
    rig.wait_until("every case has its email sent and its call and text queued", outreach_done)
    rig.mark("all reached out to")

    past_deadline = case_ids[::2]
    let_deadlines_pass(past_deadline)
    rig.wait_until(
        "every case past its deadline is escalated",
        lambda: escalated_count() == len(past_deadline),
    )
    rig.mark("all late cases escalated")
    # Sweeps still queued, and beat's next ones, must find nothing more to do.
    rig.wait_for_quiet()
    rig.mark("quiet")

    assert_outreach_and_escalations(case_ids, past_deadline)
    sends = rig.sends()
    assert len(sends) == 3 * CASES
    assert {attempt_id: n for attempt_id, n in sends.items() if n != 1} == {}


def test_a_worker_killed_mid_outreach_and_mid_escalation_delays_but_never_loses_or_doubles(
    rig, capsys
):
    case_ids = open_cases(enrolled_sellers(CASES))
    rig.mark("cases opened, no worker yet")

    first = rig.start_worker()
    rig.mark("worker 1 ready")
    rig.wait_until(
        "a fifth of the attempts were made",
        lambda: (
            ContactAttempt.objects.exclude(status__in=[Status.PENDING, Status.SENDING]).count()
            >= 3 * CASES // 5
        ),
        interval=0.1,
    )
    first.kill()
    rig.mark("worker 1 killed")
    at_kill = progress()
    assert cases_not_yet_reached_out() > 0, "the kill came after the work was done"

    rig.start_worker()
    rig.mark("worker 2 ready")
    rig.wait_for_quiet()
    rig.mark("worker 2 emptied the queue")
    left_behind = let_recovery_clocks_run_out()
    rig.wait_until("every case has its email sent and its call and text queued", outreach_done)
    rig.mark("all reached out to")

    past_deadline = case_ids[::2]
    let_deadlines_pass(past_deadline)
    rig.wait_until("some late cases are escalated", lambda: escalated_count() >= 10, interval=0.1)
    rig.workers[-1].kill()
    rig.mark("worker 2 killed")
    escalated_at_kill = escalated_count()
    assert escalated_at_kill < len(past_deadline), "the kill came after the work was done"

    rig.start_worker()
    rig.mark("worker 3 ready")
    rig.wait_until(
        "every case past its deadline is escalated",
        lambda: escalated_count() == len(past_deadline),
    )
    rig.mark("all late cases escalated")
    rig.wait_for_quiet()
    rig.mark("quiet")

    assert_outreach_and_escalations(case_ids, past_deadline)
    # Each attempt was sent; twice only if the kill came between sending and recording it,
    # at most one such attempt per process of the pool.
    sends = rig.sends()
    assert len(sends) == 3 * CASES
    twice = {attempt_id: n for attempt_id, n in sends.items() if n != 1}
    assert set(twice.values()) <= {2}
    assert len(twice) <= 2
    show(
        capsys,
        f"at the first kill: {at_kill}; left behind (lost, held): {left_behind}; "
        f"escalated at the second kill: {escalated_at_kill}; sent twice: {twice}",
    )
