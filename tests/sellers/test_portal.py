"""The seller portal: a seller sees their own account health and keeps their contact current."""

import datetime as dt
import re
from html.parser import HTMLParser

import pytest
import time_machine

from accounts.roles import Role
from sellers.models import EmergencyContact
from sellers.services import ahr_ingest
from tests.factories import (
    AdminFactory,
    EmergencyContactFactory,
    SellerFactory,
    UserFactory,
    ViolationFactory,
)

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 3, 15)  # the six-month window starts on 15 Sep 2025


@pytest.fixture(autouse=True)
def frozen_today():
    with time_machine.travel(dt.datetime(2026, 3, 15, 12, tzinfo=dt.UTC), tick=False):
        yield


def history(seller, first: dt.date, *, score: int = 600, low: dict | None = None) -> None:
    """Daily values from ``first`` to TODAY; ``low`` maps days to lower scores."""
    low = low or {}
    rows = []
    day = first
    while day <= TODAY:
        rows.append({"seller_id": seller.seller_id, "date": day, "score": low.get(day, score)})
        day += dt.timedelta(days=1)
    ahr_ingest([{**row, "date": row["date"].isoformat()} for row in rows], today=TODAY)


VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source"}


class _TextOf(HTMLParser):
    """Collects the text inside the first element whose ``attribute`` equals ``value``."""

    def __init__(self, attribute: str, value: str) -> None:
        super().__init__()
        self.attribute, self.value = attribute, value
        self.depth = 0
        self.found = False
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if self.depth:
            self.depth += tag not in VOID
        elif not self.found and (self.attribute, self.value) in attrs:
            self.found = True
            self.depth = 1

    def handle_endtag(self, tag):
        if self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if self.depth:
            self.parts.append(data)


def text_of(response, testid: str, attribute: str = "data-testid") -> str:
    """The visible text of the element marked ``data-testid=testid``, spaces collapsed."""
    parser = _TextOf(attribute, testid)
    parser.feed(response.content.decode())
    assert parser.found, f"no element {attribute}={testid!r} on the page"
    return " ".join(" ".join(parser.parts).split())


@pytest.fixture
def sol():
    return UserFactory(username="sol", role=Role.SELLER)


@pytest.fixture
def enrolled(sol):
    """A healthy seller linked to ``sol``, with three bad days: enrolled by the engine."""
    seller = SellerFactory(seller_id="A-SOL", name="Sunny Goods")
    seller.users.add(sol)
    EmergencyContactFactory(seller=seller, phone="+14155550101")
    bad_days = {TODAY - dt.timedelta(days=n): 180 for n in (20, 50, 90)}
    history(seller, dt.date(2025, 9, 1), low=bad_days)
    return seller


def page_url(seller) -> str:
    return f"/portal/sellers/{seller.seller_id}/"


def test_portal_sends_a_seller_to_their_own_page(client, sol, enrolled):
    client.force_login(sol)
    response = client.get("/portal/")
    assert response.status_code == 302
    assert response.url == "/portal/sellers/A-SOL/"


def test_portal_explains_when_no_seller_account_is_linked(client, sol):
    client.force_login(sol)
    response = client.get("/portal/")
    assert response.status_code == 200
    assert b"no seller account is linked to your login yet" in response.content


def test_seller_sees_rating_band_programme_status_and_path(client, sol, enrolled):
    client.force_login(sol)
    response = client.get(page_url(enrolled))
    assert response.status_code == 200
    assert text_of(response, "ahr") == "600"
    assert text_of(response, "band") == "Healthy"
    assert text_of(response, "programme-status") == "Enrolled"
    assert b"since 15 Mar 2026" in response.content
    assert text_of(response, "history-days-needed") == "0 days"
    assert text_of(response, "days-below") == "3 of 10"
    assert text_of(response, "earliest-enrollment") == "Already enrolled"
    assert text_of(response, "contact-number") == "+1 415-555-0101"
    assert text_of(response, "contact-state") == "Verified"


def test_young_history_shows_days_still_needed_and_the_earliest_date(client, sol):
    seller = SellerFactory(seller_id="A-NEW")
    seller.users.add(sol)
    EmergencyContactFactory(seller=seller)
    history(seller, dt.date(2026, 1, 1), score=180, low={})
    client.force_login(sol)
    response = client.get(page_url(seller))
    assert text_of(response, "ahr") == "180"
    assert text_of(response, "band") == "At Risk"
    assert text_of(response, "programme-status") == "Not enrolled"
    # 1 Jul 2026 is the first day whose six-month window starts on 1 Jan 2026.
    assert text_of(response, "history-days-needed") == "108 days"
    assert text_of(response, "days-below") == "74 of 10"
    reasons = text_of(response, "reasons")
    assert "so 108 more days are needed" in reasons
    assert "below 250 on 74 days" in reasons
    assert "current Account Health Rating (180) is below 250" in reasons


def test_earliest_date_is_given_when_only_history_is_missing(client, sol):
    seller = SellerFactory(seller_id="A-SOON")
    seller.users.add(sol)
    EmergencyContactFactory(seller=seller)
    history(seller, dt.date(2026, 1, 1))
    client.force_login(sol)
    response = client.get(page_url(seller))
    assert text_of(response, "earliest-enrollment") == "1 Jul 2026"
    assert text_of(response, "days-below") == "0 of 10"


def test_chart_draws_the_window_with_the_threshold_and_the_bad_days_in_red(client, sol, enrolled):
    client.force_login(sol)
    content = client.get(page_url(enrolled)).content.decode()
    assert '<svg class="ahr-chart"' in content
    assert "AHA threshold 250" in content
    assert content.count('class="ahr-below"') == 3
    assert "<figcaption>" in content
    assert "Account Health Rating, 15 Sep 2025 to 15 Mar 2026" in content
    # The values are there as a table too, for those who cannot see the chart.
    assert "Show the daily values as a table" in content
    assert content.count('<tr class="is-below">') == 3


def test_chart_coordinates_stay_numbers_in_a_language_with_decimal_commas(client, sol, enrolled):
    client.force_login(sol)
    content = client.get(page_url(enrolled), HTTP_ACCEPT_LANGUAGE="de").content.decode()
    svg = content[content.index("<svg") : content.index("</svg>")]
    assert not re.search(r'="\d+,\d', svg)


def test_violations_are_listed_most_severe_first(client, sol, enrolled):
    ViolationFactory(seller=enrolled, severity="low", description="Slow replies")
    ViolationFactory(seller=enrolled, severity="critical", description="Counterfeit claim")
    ViolationFactory(
        seller=enrolled, severity="critical", description="Old issue", status="resolved"
    )
    ViolationFactory(seller=enrolled, severity="medium", description="Late shipments")
    ViolationFactory(seller=enrolled, severity="high", description="Invalid tracking")
    client.force_login(sol)
    table = text_of(client.get(page_url(enrolled)), "violations")
    order = [
        "Critical Late shipment rate Counterfeit claim",
        "High Late shipment rate Invalid tracking",
        "Medium Late shipment rate Late shipments",
        "Low Late shipment rate Slow replies",
        "Critical Late shipment rate Old issue",
    ]
    positions = [table.index(row) for row in order]
    assert positions == sorted(positions)


def test_another_sellers_page_is_not_found(client, sol, enrolled):
    other = SellerFactory(seller_id="A-OTHER")
    EmergencyContactFactory(seller=other, phone="+14155550177")
    client.force_login(sol)
    assert client.get(page_url(other)).status_code == 404
    assert client.get("/portal/sellers/NO-SUCH-SELLER/").status_code == 404
    response = client.post(f"/portal/sellers/{other.seller_id}/contact/", {"phone": "+14155550123"})
    assert response.status_code == 404
    assert str(EmergencyContact.objects.get(seller=other).phone) == "+14155550177"


def test_superuser_can_open_any_sellers_page_for_support(client, enrolled):
    client.force_login(AdminFactory())
    response = client.get(page_url(enrolled))
    assert response.status_code == 200
    assert b"Account health of Sunny Goods" in response.content


def test_specialist_is_refused_and_anonymous_is_sent_to_sign_in(client, enrolled):
    response = client.get(page_url(enrolled))
    assert response.status_code == 302
    assert response.url.startswith("/accounts/login/")
    client.force_login(UserFactory(role=Role.SPECIALIST))
    assert client.get(page_url(enrolled)).status_code == 403
    assert client.get("/portal/").status_code == 403


@pytest.mark.parametrize(
    ("phone", "error"),
    [
        ("4155550123", "Enter a valid phone number in international format"),
        ("+1415", "Enter a valid phone number in international format"),
        ("", "Enter the number we should call."),
        ("+18005550100", "This number cannot receive calls"),
    ],
)
def test_bad_number_is_shown_next_to_the_field_and_nothing_is_saved(
    client, sol, enrolled, phone, error
):
    client.force_login(sol)
    response = client.post(f"/portal/sellers/{enrolled.seller_id}/contact/", {"phone": phone})
    assert response.status_code == 200
    assert error in text_of(response, "contact-form")
    contact = EmergencyContact.objects.get(seller=enrolled)
    assert str(contact.phone) == "+14155550101"
    assert contact.verified_at is not None


def test_new_number_is_saved_unverified_and_the_seller_is_told_to_verify_it(client, sol, enrolled):
    client.force_login(sol)
    response = client.post(
        f"/portal/sellers/{enrolled.seller_id}/contact/",
        {"phone": "+1 415 555 0123", "confirm": "1"},  # a verified number: confirmed
        follow=True,
    )
    # The contact lives on the notification preferences page.
    assert response.redirect_chain == [("/portal/sellers/A-SOL/preferences/", 302)]
    assert "must be verified" in text_of(response, "messages", "class")
    assert text_of(response, "contact-number") == "+1 415-555-0123"
    assert text_of(response, "contact-state") == "Not verified"
    assert "Verification by a one-time code" in response.content.decode()
    contact = EmergencyContact.objects.get(seller=enrolled)
    assert str(contact.phone) == "+14155550123"
    assert contact.verified_at is None
    assert contact.verified_by == ""


def test_same_number_again_changes_nothing_and_keeps_it_verified(client, sol, enrolled):
    client.force_login(sol)
    response = client.post(
        f"/portal/sellers/{enrolled.seller_id}/contact/", {"phone": "+14155550101"}, follow=True
    )
    assert "nothing changed" in text_of(response, "messages", "class")
    assert text_of(response, "contact-state") == "Verified"
    assert EmergencyContact.objects.get(seller=enrolled).verified_at is not None


def test_seller_without_a_contact_can_add_one(client, sol):
    seller = SellerFactory(seller_id="A-NOCONTACT")
    seller.users.add(sol)
    client.force_login(sol)
    response = client.get(page_url(seller))
    assert text_of(response, "contact-state") == "No number on file"
    assert text_of(response, "ahr") == "—"
    client.post(f"/portal/sellers/{seller.seller_id}/contact/", {"phone": "+14155550142"})
    assert str(EmergencyContact.objects.get(seller=seller).phone) == "+14155550142"


def test_login_with_several_sellers_can_switch_between_them(client, sol, enrolled):
    second = SellerFactory(seller_id="A-SOL-CA", name="Sunny Goods Canada")
    second.users.add(sol)
    client.force_login(sol)
    response = client.get(page_url(enrolled))
    assert text_of(response, "Your other seller accounts", "aria-label").endswith(
        "Sunny Goods Canada"
    )
    assert client.get(page_url(second)).status_code == 200


def test_superuser_opens_a_seller_by_id_from_the_portal(client, enrolled):
    client.force_login(AdminFactory())
    response = client.get("/portal/")
    assert b"No seller is linked to your login" in response.content
    response = client.get("/portal/", {"seller_id": "A-SOL"})
    assert response.url == "/portal/sellers/A-SOL/"


def test_seller_cannot_use_the_open_by_id_box(client, sol, enrolled):
    SellerFactory(seller_id="A-OTHER")
    client.force_login(sol)
    assert client.get("/portal/", {"seller_id": "A-OTHER"}).url == "/portal/sellers/A-SOL/"
