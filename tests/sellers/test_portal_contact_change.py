"""Replacing the emergency contact on the portal: confirmed first, with the date it must be
verified by; the seller's own number shown by its last four digits; no dead ends."""

import datetime as dt

import pytest

from sellers.models import AssuranceState, EmergencyContact
from sellers.services.verification import masked_for_seller
from tests.factories import SellerFactory, UnverifiedContactFactory
from tests.sellers.test_portal import TODAY, enrolled, frozen_today, history, sol, text_of

__all__ = ["enrolled", "frozen_today", "history", "sol"]  # the fixtures

pytestmark = pytest.mark.django_db


def contact_url(seller) -> str:
    return f"/portal/sellers/{seller.seller_id}/contact/"


# --- 17: replacing a verified number asks first and says by when ------------------------


def test_replacing_a_verified_number_asks_for_confirmation_first(client, sol, enrolled):
    assert AssuranceState.objects.get(seller=enrolled).enrolled
    client.force_login(sol)
    response = client.post(contact_url(enrolled), {"phone": "+1 415 555 0123"})
    assert response.status_code == 200
    confirm = text_of(response, "confirm-contact-change")
    assert "+1 415-555-0123" in confirm
    assert "stays in Account Health Assurance for 7 days" in confirm
    assert "by 22 Mar 2026" in confirm
    assert 'name="confirm" value="1"' in response.content.decode()
    contact = EmergencyContact.objects.get(seller=enrolled)
    assert str(contact.phone) == "+14155550101"
    assert contact.verified_at is not None

    response = client.post(
        contact_url(enrolled), {"phone": "+14155550123", "confirm": "1"}, follow=True
    )
    assert response.redirect_chain == [("/portal/sellers/A-SOL/preferences/", 302)]
    assert str(EmergencyContact.objects.get(seller=enrolled).phone) == "+14155550123"
    # Enrolled, not eligible today: the page says by when the new number must be verified.
    assert "Verify your new emergency contact number by 22 Mar 2026" in text_of(
        response, "contact-verify-by"
    )


def test_the_verify_by_date_counts_from_when_the_contact_became_invalid(client, sol, enrolled):
    client.force_login(sol)
    client.post(contact_url(enrolled), {"phone": "+14155550123", "confirm": "1"})
    AssuranceState.objects.filter(seller=enrolled).update(
        contact_invalid_since=TODAY - dt.timedelta(days=3)
    )
    response = client.get(f"/portal/sellers/{enrolled.seller_id}/")
    assert "by 19 Mar 2026" in text_of(response, "contact-verify-by")


def test_an_unverified_number_is_replaced_without_confirmation(client, sol):
    seller = SellerFactory(seller_id="A-NEW")
    seller.users.add(sol)
    UnverifiedContactFactory(seller=seller, phone="+14155550101")
    client.force_login(sol)
    response = client.post(contact_url(seller), {"phone": "+14155550123"})
    assert response.status_code == 302
    assert str(EmergencyContact.objects.get(seller=seller).phone) == "+14155550123"


# --- 19: own number by its last four digits; no 405 after an error page ----------------


def test_the_seller_sees_their_own_number_by_its_last_four_digits(client, sol):
    seller = SellerFactory(seller_id="A-NEW")
    seller.users.add(sol)
    UnverifiedContactFactory(seller=seller, phone="+14155550199")
    assert masked_for_seller("+14155550199") == "(***) ***-0199"
    client.force_login(sol)
    response = client.post(
        f"/portal/sellers/{seller.seller_id}/contact/code/", {"channel": "sms"}, follow=True
    )
    assert "We have texted a code to (***) ***-0199." in text_of(response, "messages", "class")
    assert "+*********99" not in response.content.decode()


@pytest.mark.parametrize("path", ["contact/", "contact/code/", "contact/verify/"])
def test_a_get_on_a_form_address_goes_back_to_the_preferences_page(client, sol, enrolled, path):
    client.force_login(sol)
    response = client.get(f"/portal/sellers/{enrolled.seller_id}/{path}")
    assert response.status_code == 302
    assert response.url.startswith("/portal/sellers/A-SOL/preferences/")


def test_the_favicon_answers_on_every_page(client, sol, enrolled):
    client.force_login(sol)
    page = client.get(f"/portal/sellers/{enrolled.seller_id}/").content.decode()
    assert 'rel="icon"' in page
    response = client.get("/favicon.ico")
    assert response.status_code in (200, 301, 302)
