"""A seller signs in with a real browser and reads their account health."""

import datetime as dt

import pytest
from django.utils import timezone

from accounts.roles import Role
from sellers.assurance import Rules
from sellers.services import ahr_ingest
from tests.factories import EmergencyContactFactory, SellerFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_seller_signs_in_reads_their_health_and_cannot_open_another_seller(browser_page):
    today = timezone.localdate()
    first_day = today - dt.timedelta(days=120)
    sol = UserFactory(username="sol", first_name="Sol", last_name="Santos", role=Role.SELLER)
    seller = SellerFactory(seller_id="A-SOL", name="Sunny Goods")
    seller.users.add(sol)
    EmergencyContactFactory(seller=seller)
    SellerFactory(seller_id="A-OTHER", name="Someone Else")
    low_days = {today - dt.timedelta(days=10), today - dt.timedelta(days=30)}
    ahr_ingest(
        [
            {
                "seller_id": "A-SOL",
                "date": (first_day + dt.timedelta(days=n)).isoformat(),
                "score": 180 if first_day + dt.timedelta(days=n) in low_days else 640,
            }
            for n in range(121)
        ],
        today=today,
    )
    history_ready = Rules.current().earliest_day_with_window_start_at_least(first_day)
    days_needed = (history_ready - today).days

    page = browser_page
    page.goto("/")
    page.fill("#id_username", "sol")
    page.fill("#id_password", "correct-horse-battery")
    page.click("button[type=submit]")

    assert page.url.endswith("/portal/sellers/A-SOL/")
    assert page.locator("h1").inner_text() == "My account health"
    chart = page.get_by_role("img", name="Account Health Rating")
    assert chart.is_visible()
    threshold = page.locator("svg.ahr-chart g.threshold")
    assert threshold.is_visible()
    assert threshold.text_content().strip() == "AHA threshold 250"
    assert page.locator("svg.ahr-chart circle.ahr-below").count() == 2
    assert page.get_by_test_id("history-days-needed").inner_text() == f"{days_needed} days"
    assert page.get_by_test_id("days-below").inner_text() == "2 of 10"
    assert page.get_by_test_id("earliest-enrollment").inner_text() == (
        f"{history_ready.day} {history_ready:%b %Y}"
    )
    assert page.get_by_test_id("programme-status").inner_text() == "Not enrolled"

    response = page.goto("/portal/sellers/A-OTHER/")
    assert response.status == 404
    assert page.locator("h1").inner_text() == "Page not found"
    assert "Someone Else" not in page.content()
