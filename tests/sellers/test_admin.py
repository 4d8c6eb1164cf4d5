import datetime as dt

import pytest

from accounts.roles import Role
from sellers.models import EnrollmentEvent
from sellers.services import ahr_ingest
from tests.factories import AdminFactory, EmergencyContactFactory, SellerFactory, UserFactory

pytestmark = pytest.mark.django_db

MODELS = [
    "store",
    "seller",
    "accounthealthsnapshot",
    "violation",
    "assurancestate",
    "enrollmentevent",
]


@pytest.fixture
def enrolled_seller():
    seller = SellerFactory(seller_id="A42", name="Acme")
    EmergencyContactFactory(seller=seller)
    today = dt.date.today()
    ahr_ingest(
        [
            {"seller_id": "A42", "date": (today - dt.timedelta(days=i)).isoformat(), "score": 500}
            for i in range(200)
        ],
        today=today,
    )
    return seller


@pytest.mark.parametrize("model", MODELS)
def test_every_sellers_admin_page_renders_with_data(client, enrolled_seller, model):
    client.force_login(AdminFactory())
    assert client.get(f"/admin/sellers/{model}/").status_code == 200
    assert client.get(f"/admin/sellers/{model}/?q=A42").status_code == 200


def test_seller_change_page_shows_contact_and_history(client, enrolled_seller):
    client.force_login(AdminFactory())
    page = client.get(f"/admin/sellers/seller/{enrolled_seller.pk}/change/")
    assert page.status_code == 200
    assert b"Enrolled since" in page.content
    assert b"You meet every rule" in page.content


def test_enrollment_history_cannot_be_changed_or_deleted_even_by_admin(client, enrolled_seller):
    client.force_login(AdminFactory())
    event = EnrollmentEvent.objects.get(seller=enrolled_seller)
    assert client.get(f"/admin/sellers/enrollmentevent/{event.pk}/delete/").status_code == 403
    client.post(f"/admin/sellers/enrollmentevent/{event.pk}/change/", {"reason": "edited"})
    event.refresh_from_db()
    assert event.reason.startswith("You meet every rule")
    with pytest.raises(ValueError, match="append-only"):
        event.delete()


def test_specialists_view_sellers_but_cannot_switch_stores(client, enrolled_seller):
    client.force_login(UserFactory(role=Role.SPECIALIST))
    assert client.get("/admin/sellers/seller/").status_code == 200
    assert client.get("/admin/sellers/store/1/change/").status_code == 200  # read-only view
    response = client.post("/admin/sellers/store/1/change/", {"aha_enabled": ""})
    assert response.status_code == 403


def test_managers_switch_a_store_on(client):
    client.force_login(UserFactory(role=Role.MANAGER))
    page = client.get("/admin/sellers/store/")
    assert page.status_code == 200
    assert b"AHA switched on" in page.content
