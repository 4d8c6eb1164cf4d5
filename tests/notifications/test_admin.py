"""Contact attempts in the admin: listed and searchable, never added, edited or deleted."""

import pytest

from notifications.models import ContactAttempt
from tests.factories import CaseFactory

pytestmark = pytest.mark.django_db


def test_attempts_are_listed_by_seller_and_cannot_be_changed(admin_client):
    case = CaseFactory()
    attempt = ContactAttempt.objects.create(
        subject=case, channel="call", purpose="outreach", destination="+14155550123"
    )
    base = "/admin/notifications/contactattempt/"

    listing = admin_client.get(base, {"q": case.seller.seller_id})
    assert listing.status_code == 200
    assert f"{base}{attempt.pk}/change/" in listing.content.decode()
    assert admin_client.get(f"{base}add/").status_code == 403
    assert admin_client.post(f"{base}{attempt.pk}/delete/", {"post": "yes"}).status_code == 403
    page = admin_client.get(f"{base}{attempt.pk}/change/")
    assert b'name="_save"' not in page.content
    assert ContactAttempt.objects.filter(pk=attempt.pk).exists()


def test_the_case_page_in_admin_shows_its_attempts_read_only(admin_client):
    case = CaseFactory()
    ContactAttempt.objects.create(
        subject=case, channel="sms", purpose="outreach", destination="+14155550123"
    )
    page = admin_client.get(f"/admin/cases/case/{case.pk}/change/").content.decode()
    assert "+14155550123" in page
    assert 'name="attempts-0-destination"' not in page
