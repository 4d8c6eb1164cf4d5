"""What sellers read and hear is in their store's language, policy names included."""

import pytest

from cases.messages import call_script, sms_for
from cases.timers import sweep_due_cases
from sellers.models import Store
from tests.factories import CaseFactory, SellerFactory, ViolationFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("store", "subject", "policy", "press_1"),
    [
        ("US", "Action needed on your account", "Late shipment rate", "Press 1"),
        ("DE", "Handlungsbedarf bei Ihrem Konto", "Verspätete Versandrate", "Drücken Sie die 1"),
    ],
)
def test_outreach_speaks_the_store_language(
    store, subject, policy, press_1, mailoutbox, django_capture_on_commit_callbacks
):
    seller = SellerFactory(store=Store.objects.get(code=store))
    case = CaseFactory(seller=seller, policy_area="late_shipment_rate", next_action_at=None)
    case.next_action_at = case.opened_at
    case.save()
    with django_capture_on_commit_callbacks(execute=True):
        sweep_due_cases()

    [message] = mailoutbox
    assert message.subject.startswith(subject)
    assert policy in message.body
    assert policy in message.alternatives[0][0]
    language = seller.store.language
    assert press_1 in call_script(case, "intro", language=language, at=case.opened_at)
    assert f"{case.pk}" in sms_for(case, language=language, at=case.opened_at)


def test_account_health_outreach_lists_the_costliest_violations_and_promises_no_deadline(
    mailoutbox, django_capture_on_commit_callbacks
):
    seller = SellerFactory()
    ViolationFactory(seller=seller, policy_area="listing_quality", points=5, severity="low")
    ViolationFactory(seller=seller, policy_area="a_to_z_claims", points=40)
    ViolationFactory(seller=seller, policy_area="counterfeit", points=90, status="resolved")
    case = CaseFactory(seller=seller, kind="account_health", next_action_at=None)
    case.next_action_at = case.opened_at
    case.save()
    with django_capture_on_commit_callbacks(execute=True):
        sweep_due_cases()

    [message] = mailoutbox
    assert message.subject == "Your Account Health Rating needs attention"
    body = message.body
    assert body.index("A-to-z claims") < body.index("Listing quality"), "most points first"
    assert "Counterfeit" not in body, "a resolved violation is not listed"
    assert "72" not in body
    at = case.opened_at
    intro = call_script(case, "intro", language="en", at=at)
    assert "Account Health Rating has fallen below Healthy" in intro
    assert "critical issue" not in sms_for(case, language="en", at=at)
    assert "We will call you again" not in call_script(case, "missed", language="en", at=at)
