"""The seller's notification centre and notification preferences on the portal: the bell,
the page, marking read, and the email choices beside the emergency contact."""

import datetime as dt

import pytest
from django.core import mail

from accounts.roles import Role
from sellers.models import NotificationPreferences, SellerNotification
from sellers.services.notices import notification_post
from sellers.tasks import send_notification_emails
from tests.factories import AdminFactory, EmergencyContactFactory, SellerFactory, UserFactory
from tests.sellers.test_portal import enrolled, frozen_today, history, sol, text_of

__all__ = ["enrolled", "frozen_today", "history", "sol"]  # the fixtures

pytestmark = pytest.mark.django_db

NOW = dt.datetime(2026, 3, 15, 12, tzinfo=dt.UTC)
Kind = SellerNotification.Kind


@pytest.fixture
def seller(sol):
    seller = SellerFactory(seller_id="A-SOL", name="Sunny Goods")
    seller.users.add(sol)
    EmergencyContactFactory(seller=seller, phone="+14155550101")
    return seller


@pytest.fixture
def portal(client, sol):
    client.force_login(sol)
    return client


def post(seller, title="Your rating moved to At Risk", *, minutes_ago=0, **fields):
    fields.setdefault("kind", Kind.BAND_CHANGE)
    fields.setdefault("body", "Why it matters, and what to do.")
    fields.setdefault("link", f"/portal/sellers/{seller.seller_id}/")
    return notification_post(
        seller=seller, title=title, at=NOW - dt.timedelta(minutes=minutes_ago), **fields
    )


def url(seller, rest=""):
    return f"/portal/sellers/{seller.seller_id}/{rest}"


# --- the bell ------------------------------------------------------------------------------


def test_bell_counts_the_unread_notifications_of_the_seller_being_viewed(portal, sol, seller):
    canada = SellerFactory(seller_id="A-SOL-CA", name="Sunny Goods Canada")
    canada.users.add(sol)
    post(seller, "One")
    post(seller, "Two")
    read = post(seller, "Three")
    read.read_at = NOW
    read.save()
    post(canada, "Canada news")

    response = portal.get(url(seller))
    assert text_of(response, "bell-count") == "2"
    content = response.content.decode()
    assert 'aria-label="Notifications: 2 unread"' in content
    assert f'href="{url(seller, "notifications/")}"' in content
    assert text_of(portal.get(url(canada)), "bell-count") == "1"
    # Elsewhere (the home page) the bell counts for the login's first seller.
    assert text_of(portal.get("/portal/notifications-nowhere/"), "bell-count") == "2"


def test_bell_answers_as_json_for_the_page_to_refresh_it(portal, seller):
    post(seller)
    response = portal.get(url(seller, "notifications/unread/"))
    assert response.json() == {"unread": 1}
    assert response["Cache-Control"].startswith("no-store")


def test_no_bell_for_staff_or_a_superuser_without_a_seller(client, seller):
    client.force_login(UserFactory(role=Role.SPECIALIST))
    assert b'data-testid="bell"' not in client.get("/").content
    client.force_login(AdminFactory())
    assert b'data-testid="bell"' not in client.get("/portal/").content
    # Viewing a seller's page for support, the bell is that seller's.
    post(seller)
    assert text_of(client.get(url(seller)), "bell-count") == "1"


# --- the notifications page ------------------------------------------------------------------


def test_notifications_are_listed_newest_first_with_kind_time_and_unread_marker(portal, seller):
    old = post(seller, "Enrolled", kind=Kind.ENROLLMENT, minutes_ago=60 * 24)
    new = post(seller, "Case opened", kind=Kind.CRITICAL_CASE, body="A specialist calls you.")
    old.read_at = NOW
    old.save()

    response = portal.get(url(seller, "notifications/"))
    assert response.status_code == 200
    listing = text_of(response, "notifications")
    assert listing.index("Case opened") < listing.index("Enrolled")
    fresh = text_of(response, f"notification-{new.pk}")
    assert fresh.startswith("New Case opened")
    assert "Critical policy cases" in fresh
    assert "A specialist calls you." in fresh
    assert "15 Mar 2026, 05:00 PDT" in fresh  # the store's time zone
    seen = text_of(response, f"notification-{old.pk}")
    assert not seen.startswith("New")
    assert "Enrollment and removal" in seen
    assert text_of(response, "unread-summary").startswith("1 unread notification.")
    content = response.content.decode()
    assert f'href="{url(seller, f"notifications/{new.pk}/")}"' in content


def test_the_notifications_shown_are_read_once_seen_and_marked_new_that_once(portal, seller):
    for n in range(55):
        post(seller, f"News {n}", minutes_ago=n)
    first = portal.get(url(seller, "notifications/"))
    assert first.content.decode().count('data-testid="unread-marker"') == 50
    assert text_of(first, "bell-count") == "5", "the 5 older ones on page 2 are not seen yet"
    assert "Mark all read" in text_of(first, "mark-all-read")
    again = portal.get(url(seller, "notifications/"))
    assert 'data-testid="unread-marker"' not in again.content.decode()
    assert SellerNotification.objects.filter(seller=seller, read_at__isnull=True).count() == 5


def test_support_staff_viewing_a_sellers_notifications_read_nothing_for_them(client, seller):
    notice = post(seller)
    client.force_login(AdminFactory())
    assert client.get(url(seller, "notifications/")).status_code == 200
    notice.refresh_from_db()
    assert notice.read_at is None


def test_notifications_are_paginated_by_fifty(portal, seller):
    for n in range(55):
        post(seller, f"News {n}", minutes_ago=n)
    first = portal.get(url(seller, "notifications/")).content.decode()
    assert first.count('<li class="notification') == 50
    assert "News 0<" in first
    second = portal.get(url(seller, "notifications/"), {"page": 2}).content.decode()
    assert second.count('<li class="notification') == 5
    assert "News 54<" in second


def test_opening_a_notification_marks_it_read_and_follows_its_link(portal, seller):
    notice = post(seller, link=f"/portal/sellers/{seller.seller_id}/#cases")
    other = post(seller, "Still unread")
    response = portal.get(url(seller, f"notifications/{notice.pk}/"))
    assert response.status_code == 302
    assert response.url == "/portal/sellers/A-SOL/#cases"
    notice.refresh_from_db()
    other.refresh_from_db()
    assert notice.read_at == NOW
    assert other.read_at is None
    assert text_of(portal.get(url(seller)), "bell-count") == "1"


def test_a_notification_without_a_link_is_marked_read_and_stays_on_the_page(portal, seller):
    notice = post(seller, link="")
    page = portal.get(url(seller, "notifications/"))
    assert "Mark read" in text_of(page, f"notification-{notice.pk}")
    response = portal.get(url(seller, f"notifications/{notice.pk}/"))
    assert response.url == url(seller, "notifications/")
    notice.refresh_from_db()
    assert notice.read_at is not None


@pytest.mark.parametrize(
    "link",
    [
        "https://evil.example/phish",
        "//evil.example/phish",
        "/\\evil.example/phish",
        "javascript:alert(1)",
        "portal/relative",
    ],
)
def test_a_link_off_this_site_is_never_followed(portal, seller, link):
    notice = post(seller, link=link)
    page = portal.get(url(seller, "notifications/")).content.decode()
    assert "evil.example" not in page
    assert "javascript:" not in page
    response = portal.get(url(seller, f"notifications/{notice.pk}/"))
    assert response.status_code == 302
    assert response.url == url(seller, "notifications/")


def test_mark_all_read_marks_every_notification_of_this_seller_only(portal, sol, seller):
    canada = SellerFactory(seller_id="A-SOL-CA")
    canada.users.add(sol)
    post(seller, "One")
    post(seller, "Two")
    elsewhere = post(canada, "Canada")
    # From another page than the list (seeing the list marks what it shows read).
    response = portal.post(url(seller, "notifications/read/"), follow=True)
    assert response.redirect_chain == [(url(seller, "notifications/"), 302)]
    assert "marked read" in text_of(response, "messages", "class")
    assert not SellerNotification.objects.filter(seller=seller, read_at__isnull=True).exists()
    elsewhere.refresh_from_db()
    assert elsewhere.read_at is None
    assert text_of(response, "bell-count") == "0"


def test_another_sellers_notifications_are_not_found(portal, seller):
    other = SellerFactory(seller_id="A-OTHER")
    theirs = post(other, "Not yours")
    for path in ["notifications/", "notifications/unread/", f"notifications/{theirs.pk}/"]:
        assert portal.get(url(other, path)).status_code == 404
    assert portal.post(url(other, "notifications/read/")).status_code == 404
    # Their notification's id under one's own seller is not found either, nor a bad id.
    assert portal.get(url(seller, f"notifications/{theirs.pk}/")).status_code == 404
    assert portal.get(url(seller, f"notifications/{10**30}/")).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None
    assert "Not yours" not in portal.get(url(seller, "notifications/")).content.decode()


def test_empty_notification_centre_says_what_will_come(portal, seller):
    response = portal.get(url(seller, "notifications/"))
    assert "No notifications yet" in text_of(response, "no-notifications")
    assert text_of(response, "bell-count") == "0"


# --- the preferences page ------------------------------------------------------------------


def test_account_page_summarises_the_contact_and_links_to_the_preferences(portal, seller):
    response = portal.get(url(seller))
    summary = text_of(response, "contact-summary")
    assert "+1 415-555-0101" in summary
    assert "Verified" in summary
    assert 'data-testid="contact-form"' not in response.content.decode()
    assert f'href="{url(seller, "preferences/")}#emergency-contact"' in response.content.decode()


def test_preferences_page_has_the_contact_and_every_kind_urgent_ones_always_on(portal, seller):
    response = portal.get(url(seller, "preferences/"))
    assert response.status_code == 200
    assert text_of(response, "contact-number") == "+1 415-555-0101"
    assert text_of(response, "contact-state") == "Verified"
    assert 'data-testid="contact-form"' in response.content.decode()
    form = text_of(response, "preferences-form")
    for label in ["Critical policy cases", "Call Me Now", "Enrollment and removal"]:
        assert label in form
    assert form.count("always on") == 2
    content = response.content.decode()
    assert content.count("checked disabled") == 2
    assert 'name="email_band_change" id="id_email_band_change" checked' in content


def test_turning_an_email_kind_off_is_saved_and_the_next_one_is_not_emailed(portal, seller):
    response = portal.post(
        url(seller, "preferences/"),
        {"email_enrollment": "on", "email_account_health": "on", "second_email": ""},
        follow=True,
    )
    assert response.redirect_chain == [(url(seller, "preferences/") + "#email-preferences", 302)]
    assert "saved" in text_of(response, "messages", "class")
    preferences = NotificationPreferences.objects.get(seller=seller)
    assert preferences.email_enrollment
    assert preferences.email_account_health
    assert not preferences.email_band_change
    assert not preferences.email_violation
    assert 'name="email_band_change" id="id_email_band_change">' in response.content.decode()

    post(seller, "Band moved", email=True)
    post(seller, "Case opened", kind=Kind.CRITICAL_CASE, email=True)
    send_notification_emails()
    assert [message.to for message in mail.outbox] == [[seller.email]]
    assert "Case opened" in mail.outbox[0].subject + mail.outbox[0].body


def test_a_second_address_gets_every_email_too(portal, seller):
    portal.post(
        url(seller, "preferences/"),
        {"email_band_change": "on", "second_email": "ops@sunny.example"},
    )
    post(seller, email=True)
    send_notification_emails()
    assert mail.outbox[0].to == [seller.email, "ops@sunny.example"]


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("not an address", "Enter a valid email address"),
        ("A-SOL@sellers.example.test", "already the address we write to"),
    ],
)
def test_a_bad_second_address_is_named_and_what_was_typed_is_kept(portal, seller, typed, error):
    response = portal.post(
        url(seller, "preferences/"), {"email_violation": "on", "second_email": typed}
    )
    assert response.status_code == 200
    assert error in text_of(response, "second-email-errors")
    content = response.content.decode()
    assert f'value="{typed}"' in content
    # The checkboxes keep what was ticked, not what is saved.
    assert 'name="email_violation" id="id_email_violation" checked' in content
    assert 'name="email_enrollment" id="id_email_enrollment">' in content
    assert not NotificationPreferences.objects.filter(seller=seller).exists()


def test_another_sellers_preferences_are_not_found(portal, seller):
    other = SellerFactory(seller_id="A-OTHER")
    assert portal.get(url(other, "preferences/")).status_code == 404
    response = portal.post(url(other, "preferences/"), {"second_email": "x@evil.example"})
    assert response.status_code == 404
    assert not NotificationPreferences.objects.filter(seller=other).exists()
