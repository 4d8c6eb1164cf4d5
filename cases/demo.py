"""Demo specialists and cases for ``seed_demo``: a desk with work on it."""

from django.utils import timezone

from accounts.models import User
from cases.models import Case, RemediationStep
from cases.services import case_open, case_transition, remediation_step_add
from sellers.models import Seller, Store
from staff.models import Specialist

# (upstream id, seller id, policy area, severity, summary, how far it got)
DEMO_CASES = [
    (
        "DEMO-CASE-1",
        "DEMO-US-001",
        "counterfeit",
        "critical",
        "Counterfeit complaint on the best-selling lantern",
        "opened",
    ),
    (
        "DEMO-CASE-2",
        "DEMO-US-001",
        "late_shipment_rate",
        "high",
        "Late shipment rate at 6.1% over 30 days",
        "in_remediation",
    ),
    (
        "DEMO-CASE-3",
        "DEMO-US-003",
        "order_defect_rate",
        "critical",
        "Order defect rate above 1%",
        "opened",
    ),
    (
        "DEMO-CASE-4",
        "DEMO-CA-001",
        "listing_quality",
        "medium",
        "Listings missing safety information",
        "contacted",
    ),
]


def seed_specialists() -> None:
    """The demo specialists are on duty for the stores with AHA switched on."""
    stores = list(Store.objects.filter(aha_enabled=True))
    for username in ("specialist.ana", "specialist.ben"):
        user = User.objects.get(username=username)
        specialist, _ = Specialist.objects.update_or_create(
            user=user, defaults={"on_duty": True, "time_zone": "America/Los_Angeles"}
        )
        specialist.stores.set(stores)


def seed_cases() -> list[Case]:
    """Opens the demo cases once (by upstream id) and walks each to its demo state."""
    seed_specialists()
    cases = []
    for upstream_id, seller_id, policy_area, severity, summary, target in DEMO_CASES:
        seller = Seller.objects.get(seller_id=seller_id)
        case, created = case_open(
            seller=seller,
            policy_area=policy_area,
            severity=severity,
            summary=summary,
            upstream_id=upstream_id,
            process="demo",
        )
        if created and target != "opened":
            specialist = case.assigned_to
            case_transition(case_id=case.pk, name="contact", by=specialist)
            if target == "in_remediation":
                remediation_step_add(
                    case_id=case.pk,
                    by=specialist,
                    owner=RemediationStep.Owner.SELLER,
                    text="Ship every open order with tracking within 2 days",
                    due_on=timezone.localdate() + timezone.timedelta(days=7),
                )
                case_transition(case_id=case.pk, name="start_remediation", by=specialist)
        cases.append(Case.objects.get(pk=case.pk))
    return cases
