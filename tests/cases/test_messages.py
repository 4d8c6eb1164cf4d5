"""What sellers read and hear is in their store's language, policy names included."""

import pytest

from cases.messages import call_script, sms_for
from cases.timers import sweep_due_cases
from sellers.models import Store
from tests.factories import CaseFactory, SellerFactory

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
