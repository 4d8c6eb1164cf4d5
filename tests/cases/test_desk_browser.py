"""A specialist works a case from the queue to resolution in a real browser."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from cases.models import Case
from cases.services import case_open
from sellers.models import AssuranceState
from tests.factories import EmergencyContactFactory, SellerFactory, SpecialistFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_specialist_works_a_case_from_the_queue_to_resolution(browser_page):
    sam = SpecialistFactory(
        user__username="sam", user__first_name="Sam", user__last_name="Rivera"
    ).user
    seller = SellerFactory(seller_id="A-SUNNY", name="Sunny Goods")
    EmergencyContactFactory(seller=seller, phone="+14155550101")
    AssuranceState.objects.create(seller=seller, enrolled=True)
    case, _ = case_open(
        seller=seller,
        policy_area="counterfeit",
        severity="critical",
        summary="Counterfeit complaint on ASIN B00X",
        upstream_id="AH-1",
        process="upstream",
    )
    assert case.assigned_to == sam  # the on-duty specialist of the US store
    # Opened 52 hours ago: 20 hours are left to reach the seller.
    now = timezone.now()
    Case.objects.filter(pk=case.pk).update(
        opened_at=now - dt.timedelta(hours=52), reach_deadline=now + dt.timedelta(hours=20)
    )
    due = timezone.localdate() + dt.timedelta(days=5)

    page = browser_page
    page.goto("/")
    page.fill("#id_username", "sam")
    page.fill("#id_password", "correct-horse-battery")
    page.click("button[type=submit]")

    # The queue: the case, red with under 24 hours left, counting down live.
    assert page.url.endswith("/desk/")
    assert page.locator("h1").inner_text() == "Specialist desk"
    row = page.get_by_test_id(f"case-{case.pk}")
    assert "A-SUNNY" in row.inner_text()
    assert "Sunny Goods" in row.inner_text()
    countdown = row.locator("time.countdown")
    assert "countdown-urgent" in countdown.get_attribute("class")
    first_reading = countdown.inner_text()
    assert re.fullmatch(r"19 h 59 m \d\d s left", first_reading)
    page.wait_for_function(
        "([el, before]) => el.textContent !== before",
        arg=[countdown.element_handle(), first_reading],
    )

    row.get_by_role("link", name=f"Case {case.pk}").click()
    assert page.locator("h1").inner_text() == f"Case {case.pk} · Counterfeit"
    assert page.get_by_test_id("case-status").inner_text() == "Opened"
    assert "+1 415-555-0101" in page.get_by_test_id("emergency-contact").inner_text()

    page.get_by_role("button", name="Record contact").click()
    assert page.get_by_role("status").inner_text() == "The case was contacted."
    assert page.get_by_test_id("case-status").inner_text() == "Contacted"
    assert page.get_by_text("Add a plan step to start remediation.").is_visible()
    assert page.get_by_role("button", name="Start remediation").count() == 0

    page.get_by_label("Step", exact=True).fill("Remove the listing and refund the buyers")
    page.get_by_label("Owner").select_option(label="Seller")
    page.get_by_label("Due on").fill(due.isoformat())
    page.get_by_role("button", name="Add step").click()
    assert page.get_by_role("status").inner_text() == "Plan step added."
    plan = page.get_by_test_id("plan")
    assert "Remove the listing and refund the buyers" in plan.inner_text()
    assert f"{due.day} {due:%b %Y}" in plan.inner_text()

    page.get_by_role("button", name=re.compile(r"^Mark .* done$")).click()
    assert page.get_by_role("status").inner_text() == (
        "Marked “Remove the listing and refund the buyers” done."
    )
    assert "Done" in page.get_by_test_id("plan").inner_text()

    page.get_by_role("button", name="Start remediation").click()
    assert page.get_by_role("status").inner_text() == "The case was moved into remediation."
    assert page.get_by_test_id("case-status").inner_text() == "In remediation"

    page.get_by_label("Reason to resolve").fill("Listing removed, buyers refunded.")
    page.get_by_role("button", name="Resolve").click()
    assert page.get_by_role("status").inner_text() == "The case was resolved."
    assert page.get_by_test_id("case-status").inner_text() == "Resolved"
    assert page.get_by_role("button", name="Escalate").count() == 0

    # Outreach started when the case opened: its email is on the timeline among the events.
    attempts = page.get_by_test_id("timeline").locator("li.event-attempt")
    assert "Email to the seller" in attempts.all_inner_texts()[0]
    events = page.get_by_test_id("timeline").locator("li:not(.event-attempt)")
    titles = [events.nth(n).locator(".event-title").inner_text() for n in range(events.count())]
    assert titles == [
        "Opened",
        "Assignment",
        "Record contact",
        "Plan step added",
        "Plan step done",
        "Start remediation",
        "Resolve",
    ]
    timeline = page.get_by_test_id("timeline").inner_text()
    assert "Opened → Contacted" in timeline
    assert "Contacted → In remediation" in timeline
    assert "In remediation → Resolved" in timeline
    assert "Listing removed, buyers refunded." in timeline
    assert timeline.count("Sam Rivera") == 5

    # Back on the desk, the resolved case has left the queue.
    page.get_by_role("link", name="← Back to the desk").click()
    assert page.get_by_text("No open cases are assigned to you.").is_visible()
