"""Issue 15, done when: ``seller.sol`` sees the bell count rise, opens the notification,
follows its link, and turns an email kind off; the next such event sends no email."""

import re

import pytest
from playwright.sync_api import expect

from accounts.roles import Role
from sellers.models import NotificationPreferences, SellerNotification
from sellers.services.notices import notification_post
from sellers.tasks import send_notification_emails
from tests.factories import EmergencyContactFactory, SellerFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def band_change(seller, title: str) -> SellerNotification:
    """What the evaluation posts when the rating leaves Healthy, with its email."""
    return notification_post(
        seller=seller,
        kind=SellerNotification.Kind.BAND_CHANGE,
        title=title,
        body="Your Account Health Rating fell to 180. Fix the open violations first.",
        link=f"/portal/sellers/{seller.seller_id}/#violations-heading",
        email=True,
    )


def test_seller_sees_the_bell_rise_opens_the_notice_and_turns_its_email_off(
    browser_page, mailoutbox
):
    # The demo seller of seed_demo (sellers/demo.py): seller.sol of DEMO-US-001.
    sol = UserFactory(username="seller.sol", first_name="Sol", last_name="Santos", role=Role.SELLER)
    seller = SellerFactory(seller_id="DEMO-US-001", name="Sunny Side Goods")
    seller.users.add(sol)
    EmergencyContactFactory(seller=seller, phone="+14155550101")

    page = browser_page
    page.goto("/")
    page.fill("#id_username", "seller.sol")
    page.fill("#id_password", "correct-horse-battery")
    page.click("button[type=submit]")
    assert page.url.endswith("/portal/sellers/DEMO-US-001/")
    bell = page.get_by_role("link", name="Notifications: 0 unread")
    expect(bell).to_be_visible()
    expect(page.get_by_test_id("bell-count")).to_have_text("0")

    # An event on the server; the page's poll (static/js/bell.js) picks it up without a
    # reload when the tab becomes visible again.
    band_change(seller, "Your rating moved to At Risk")
    assert len(mailoutbox) == 1  # emailed on commit (Celery runs eagerly in tests)
    page.evaluate("document.dispatchEvent(new Event('visibilitychange'))")
    expect(page.get_by_test_id("bell-count")).to_have_text("1")
    expect(page.get_by_role("link", name="Notifications: 1 unread")).to_be_visible()

    page.get_by_test_id("bell").click()
    expect(page).to_have_url(re.compile(r"/portal/sellers/DEMO-US-001/notifications/$"))
    notice = page.locator("li.notification").first
    expect(notice.get_by_test_id("unread-marker")).to_have_text("New")
    expect(notice.get_by_test_id("notification-kind")).to_have_text("Rating band changes")
    notice.get_by_role("link", name="Your rating moved to At Risk").click()

    expect(page).to_have_url(re.compile(r"/portal/sellers/DEMO-US-001/#violations-heading$"))
    expect(page.locator("h1")).to_have_text("My account health")
    expect(page.get_by_test_id("bell-count")).to_have_text("0")
    assert SellerNotification.objects.get(seller=seller).read_at is not None

    portal_nav = page.get_by_role("navigation", name="Your account")
    portal_nav.get_by_role("link", name="Notification preferences").click()
    expect(page.locator("h1")).to_have_text("My notification preferences")
    expect(page.get_by_test_id("contact-state")).to_have_text("Verified")
    critical = page.get_by_role("checkbox", name="Critical policy cases")
    expect(critical).to_be_checked()
    expect(critical).to_be_disabled()
    page.get_by_role("checkbox", name="Rating band changes").uncheck()
    page.get_by_role("button", name="Save email preferences").click()
    expect(page.locator(".messages")).to_contain_text("Your notification preferences are saved.")
    expect(page.get_by_role("checkbox", name="Rating band changes")).not_to_be_checked()
    assert NotificationPreferences.objects.get(seller=seller).email_band_change is False

    band_change(seller, "Your rating moved to Unhealthy")
    send_notification_emails()  # and once more, as the periodic sweep would
    assert len(mailoutbox) == 1
    page.reload()
    expect(page.get_by_test_id("bell-count")).to_have_text("1")
