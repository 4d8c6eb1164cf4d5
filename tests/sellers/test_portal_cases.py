"""The seller follows their own cases and remediation plans on the portal (read-only)."""

import datetime as dt
import re

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts.roles import Role
from cases.services import case_transition, remediation_step_add, remediation_step_complete
from tests.factories import AdminFactory, CaseFactory, SellerFactory, SpecialistFactory, UserFactory

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 15, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def frozen_now():
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def sol():
    return UserFactory(username="sol", role=Role.SELLER)


@pytest.fixture
def seller(sol):
    seller = SellerFactory(seller_id="A-SOL", name="Sunny Goods")
    seller.users.add(sol)
    return seller


@pytest.fixture
def specialist():
    return SpecialistFactory().user


def cases_section(response) -> str:
    """The "Your cases" section's HTML."""
    content = response.content.decode()
    match = re.search(r'<section class="card" id="cases".*?</section>', content, re.S)
    assert match, "no Your cases section on the page"
    return match.group(0)


def text(html: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def test_seller_sees_their_cases_newest_first_with_plans(client, sol, seller, specialist):
    older = CaseFactory(
        seller=seller,
        policy_area="late_shipment_rate",
        severity="high",
        summary="Late shipments in February",
        assured=False,
        opened_at=NOW - dt.timedelta(days=20),
    )
    newer = CaseFactory(
        seller=seller,
        policy_area="counterfeit",
        severity="critical",
        summary="Counterfeit complaint on ASIN B00X",
        assured=True,
        opened_at=NOW - dt.timedelta(hours=2),
        reach_deadline=NOW + dt.timedelta(hours=70),
    )
    case_transition(case_id=older.pk, name="contact", by=specialist)
    refund = remediation_step_add(
        case_id=older.pk,
        by=specialist,
        text="Refund the late orders",
        owner="seller",
        due_on=dt.date(2026, 3, 20),
    )
    remediation_step_add(
        case_id=older.pk,
        by=specialist,
        text="Check the carrier settings",
        owner="specialist",
        due_on=dt.date(2026, 3, 25),
    )
    remediation_step_complete(step_id=refund.pk, by=specialist)
    other = CaseFactory(seller=SellerFactory(name="Someone Else"), summary="Not yours at all")

    client.force_login(sol)
    section = cases_section(client.get("/portal/sellers/A-SOL/"))

    assert section.index(f'data-testid="portal-case-{newer.pk}"') < section.index(
        f'data-testid="portal-case-{older.pk}"'
    )
    words = text(section)
    assert "Your cases" in words
    assert "Counterfeit · case" in words
    assert "Opened Critical Counterfeit complaint on ASIN B00X" in words
    # Deadlines in the seller's store time: US store, Los Angeles (PDT on 18 Mar 2026).
    assert "A specialist will reach you by 18 Mar 2026, 03:00 PDT" in words
    assert "No remediation plan yet" in words
    assert "Late shipment rate · case" in words
    assert "Contacted High Late shipments in February" in words
    assert "No 72-hour guarantee" in words
    assert "Refund the late orders You 20 Mar 2026 Done 15 Mar 2026" in words
    assert "Check the carrier settings Your specialist 25 Mar 2026 Not yet" in words
    assert other.summary not in words
    assert f"portal-case-{other.pk}" not in section


def test_the_cases_section_is_read_only(client, sol, seller, specialist):
    case = CaseFactory(seller=seller)
    case_transition(case_id=case.pk, name="contact", by=specialist)
    remediation_step_add(
        case_id=case.pk, by=specialist, text="Fix", owner="seller", due_on=dt.date(2026, 3, 20)
    )
    client.force_login(sol)
    section = cases_section(client.get("/portal/sellers/A-SOL/"))
    assert "<form" not in section
    assert "<button" not in section
    # ...and the desk's writes stay closed to a seller.
    assert client.get(f"/desk/cases/{case.pk}/").status_code == 403
    assert client.post(f"/desk/cases/{case.pk}/notes/", {"text": "hi"}).status_code == 403


def test_a_seller_without_cases_is_told_so(client, sol, seller):
    client.force_login(sol)
    section = cases_section(client.get("/portal/sellers/A-SOL/"))
    assert "You have no cases." in text(section)


def test_an_administrator_sees_the_sellers_cases_as_the_seller_does(client, seller):
    case = CaseFactory(seller=seller, summary="Counterfeit complaint")
    client.force_login(AdminFactory())
    section = cases_section(client.get("/portal/sellers/A-SOL/"))
    assert f"portal-case-{case.pk}" in section
    assert "Counterfeit complaint" in section


def test_cases_and_plans_take_a_fixed_number_of_queries(client, sol, seller, specialist):
    def page_queries() -> int:
        with CaptureQueriesContext(connection) as queries:
            client.get("/portal/sellers/A-SOL/")
        return len(queries.captured_queries)

    client.force_login(sol)
    CaseFactory(seller=seller)
    few = page_queries()
    for _ in range(5):
        case = CaseFactory(seller=seller)
        case_transition(case_id=case.pk, name="contact", by=specialist)
        remediation_step_add(
            case_id=case.pk, by=specialist, text="Fix", owner="seller", due_on=dt.date(2026, 4, 1)
        )
    assert page_queries() == few


def test_seller_sees_how_we_tried_to_reach_them_but_not_the_desks_warnings(client, sol, seller):
    from notifications.models import ContactAttempt

    case = CaseFactory(seller=seller, assured=True)
    ContactAttempt.objects.create(
        subject=case,
        channel="call",
        purpose="outreach",
        destination="+14155550123",
        status="no-answer",
        outcome="no_answer",
    )
    ContactAttempt.objects.create(
        subject=case, channel="email", purpose="outreach", destination="a@x.test", status="sent"
    )
    ContactAttempt.objects.create(
        subject=case,
        channel="email",
        purpose="deadline_warning",
        destination="specialist@desk.test",
        status="sent",
    )
    client.force_login(sol)

    outreach = text(cases_section(client.get("/portal/sellers/A-SOL/")))

    assert "How we tried to reach you (2)" in outreach
    assert "Call · " in outreach
    assert "No answer" in outreach
    assert "Email · " in outreach
    assert "specialist@desk.test" not in outreach


def test_an_account_health_case_says_what_it_is_and_when_a_specialist_calls(client, sol, seller):
    case = CaseFactory(
        seller=seller,
        kind="account_health",
        severity="high",
        summary="Account Health Rating fell to 180 (At Risk).",
        first_attempt_due=NOW + dt.timedelta(days=1),
    )
    client.force_login(sol)
    words = text(cases_section(client.get("/portal/sellers/A-SOL/")))
    assert "Account health Your Account Health Rating left the Healthy band." in words
    assert "A specialist will call you during your daytime, by 16 Mar 2026, 05:00 PDT" in words
    assert "Healthy for 14 days in a row" in words
    assert "not enrolled" not in words, "an enrolled seller's case too: no false reason"
    assert f"case {case.pk}" in words
