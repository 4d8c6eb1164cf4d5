import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.http import HttpRequest
from django.test import override_settings

from accounts.demo import DEMO_LOGINS
from accounts.models import User

pytestmark = pytest.mark.django_db


def seed() -> str:
    from io import StringIO

    out = StringIO()
    call_command("seed_demo", stdout=out)
    return out.getvalue()


def test_seed_demo_twice_duplicates_nothing():
    seed()
    before = {
        user.username: list(user.groups.values_list("name", flat=True))
        for user in User.objects.all()
    }
    seed()
    after = {
        user.username: list(user.groups.values_list("name", flat=True))
        for user in User.objects.all()
    }
    assert before == after
    assert User.objects.count() == len(DEMO_LOGINS)


def test_every_printed_login_can_sign_in(client):
    output = seed()
    for login in DEMO_LOGINS:
        assert login.username in output
        # axes (the sign-in lock-out) needs the request that signs in: client.login has none.
        assert client.login(
            request=HttpRequest(), username=login.username, password=settings.DEMO_PASSWORD
        ), login.username
        client.logout()


def test_demo_logins_cover_every_role():
    seed()
    roles = {
        group for user in User.objects.all() for group in user.groups.values_list("name", flat=True)
    }
    assert roles == {"specialists", "managers", "sellers"}
    assert User.objects.filter(groups__name="specialists").count() == 2
    assert User.objects.get(username="admin").is_superuser


@override_settings(DEMO_DATA_ALLOWED=False)
def test_seed_demo_refuses_where_demo_data_is_off():
    with pytest.raises(CommandError, match="DEMO_DATA_ALLOWED"):
        call_command("seed_demo")
    assert not User.objects.exists()


def demo_seller_rows() -> dict:
    from sellers.models import (
        AccountHealthSnapshot,
        EmergencyContact,
        EnrollmentEvent,
        Seller,
        Violation,
    )

    return {
        "sellers": sorted(Seller.objects.values_list("seller_id", flat=True)),
        "contacts": sorted(
            EmergencyContact.objects.values_list("seller__seller_id", "phone", "verified_at")
        ),
        "violations": Violation.objects.count(),
        "snapshots": AccountHealthSnapshot.objects.count(),
        "enrollment_events": EnrollmentEvent.objects.count(),
        "links": sorted(Seller.users.through.objects.values_list("seller_id", "user_id")),
    }


def test_seed_demo_twice_duplicates_no_seller_data(mailoutbox):
    seed()
    first = demo_seller_rows()
    emails = len(mailoutbox)
    seed()
    assert demo_seller_rows() == first
    assert len(first["sellers"]) == 7
    assert len(mailoutbox) == emails  # no second enrollment, no second email


def test_demo_sellers_cover_every_situation_and_are_printed():
    from sellers.models import Seller
    from sellers.selectors import seller_assurance

    output = seed()
    status = {
        seller.seller_id: seller_assurance(seller)
        for seller in Seller.objects.select_related("store")
    }
    assert status["DEMO-US-001"]["enrolled"]
    assert status["DEMO-US-001"]["days_below_threshold"] == 3
    assert Seller.objects.get(seller_id="DEMO-US-001").users.get().username == "seller.sol"
    soon = status["DEMO-US-002"]
    assert soon["history_days_needed"] > 0
    assert soon["earliest_enrollment_date"] is not None
    assert status["DEMO-US-003"]["days_below_threshold"] > 10
    assert any("individual account" in reason for reason in status["DEMO-US-004"]["reasons"])
    assert status["DEMO-CA-001"]["reasons"] == [
        "Your emergency contact number has not been verified with a code yet."
    ]
    assert status["DEMO-DE-001"]["reasons"] == [
        "Account Health Assurance is not yet available in your store (DE)."
    ]
    assert [seller_id for seller_id, s in status.items() if s["enrolled"]] == ["DEMO-US-001"]
    assert status["DEMO-US-005"]["band"] == "at_risk"
    for seller_id in status:
        assert seller_id in output
    assert "DEMO-US-001  Sunny Side Goods    [enrolled]" in output


def test_demo_seller_login_opens_its_portal_page(client):
    seed()
    assert client.login(
        request=HttpRequest(), username="seller.sol", password=settings.DEMO_PASSWORD
    )
    response = client.get("/portal/", follow=True)
    assert response.redirect_chain == [("/portal/sellers/DEMO-US-001/", 302)]
    assert b"Sunny Side Goods" in response.content


def test_seed_demo_puts_cases_on_the_desk_once(client):
    seed()
    seed()
    from cases.models import Case, CaseEvent

    critical = Case.objects.filter(kind=Case.Kind.CRITICAL_POLICY)
    assert critical.count() == 4
    assert set(critical.values_list("status", flat=True)) == {
        "opened",
        "contacted",
        "in_remediation",
    }
    # The at-risk demo seller's account-health case, opened once by its falling rating.
    health = Case.objects.get(kind=Case.Kind.ACCOUNT_HEALTH)
    assert health.seller.seller_id == "DEMO-US-005"
    assert health.policy_area == "late_shipment_rate", "its costliest open violation"
    assert CaseEvent.objects.filter(kind="opened").count() == 5
    assert client.login(
        request=HttpRequest(), username="specialist.ana", password=settings.DEMO_PASSWORD
    )
    assert b"DEMO-US-001" in client.get("/desk/").content
