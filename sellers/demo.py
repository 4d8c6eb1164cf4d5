"""Demo sellers for ``seed_demo``: one in every situation the portal and the desk show.

Their AHR history is generated from a random generator seeded with the seller id, so
every run writes the same kind of history, and it is loaded and evaluated through the
real services (``ahr_ingest``, ``assurance_evaluate``): enrollment happens because the
engine decides it, with its events and emails. Running it again updates in place.
"""

import datetime as dt
import random
from dataclasses import dataclass, field

from django.utils import timezone

from accounts.models import User
from sellers.assurance import Rules
from sellers.models import Seller, Violation
from sellers.services import ahr_ingest, assurance_evaluate, emergency_contact_set, seller_upsert


@dataclass(frozen=True)
class DemoViolation:
    policy_area: str
    severity: str
    points: int
    description: str
    days_ago: int
    resolved: bool = False


@dataclass(frozen=True)
class DemoSeller:
    seller_id: str
    name: str
    store: str
    situation: str
    account_type: str = Seller.AccountType.PROFESSIONAL
    phone: str | None = None
    phone_verified: bool = True
    # Days of history before today; None: a little more than the whole window.
    history_days: int | None = None
    typical_score: int = 640
    # Days ago on which AHR dipped below the threshold.
    low_days_ago: tuple[int, ...] = ()
    logins: tuple[str, ...] = ()
    violations: tuple[DemoViolation, ...] = field(default_factory=tuple)
    # Today's value, when it is not the drift's: an at-risk seller's fall.
    latest_score: int | None = None


DEMO_SELLERS = [
    DemoSeller(
        seller_id="DEMO-US-001",
        name="Sunny Side Goods",
        store="US",
        situation="enrolled: healthy, 3 of 10 days below 250 used, verified contact",
        phone="+14155550101",
        typical_score=720,
        low_days_ago=(12, 47, 95),
        logins=("seller.sol",),
        violations=(
            DemoViolation(
                "late_shipment_rate",
                "medium",
                15,
                "Late shipment rate 4.6% over the last 30 days (target under 4%).",
                9,
            ),
            DemoViolation(
                "customer_response_time",
                "low",
                5,
                "12 buyer messages answered after more than 24 hours.",
                4,
            ),
            DemoViolation(
                "listing_quality",
                "high",
                30,
                "Three listings with missing safety information.",
                60,
                resolved=True,
            ),
        ),
    ),
    DemoSeller(
        seller_id="DEMO-US-002",
        name="Fresh Start Crafts",
        store="US",
        situation="eligible soon: only 4 months of history",
        phone="+14155550102",
        history_days=122,
        typical_score=610,
        low_days_ago=(30,),
        violations=(
            DemoViolation(
                "valid_tracking_rate",
                "medium",
                10,
                "Valid tracking rate 93% (target 95%).",
                14,
            ),
        ),
    ),
    DemoSeller(
        seller_id="DEMO-US-003",
        name="Bumpy Road Outlet",
        store="US",
        situation="not eligible: 14 days below 250 in the last 6 months",
        phone="+14155550103",
        typical_score=420,
        low_days_ago=(8, 9, 10, 11, 40, 41, 42, 70, 71, 100, 101, 130, 150, 160),
        violations=(
            DemoViolation(
                "counterfeit",
                "critical",
                120,
                "A rights owner reported two listings as counterfeit.",
                3,
            ),
            DemoViolation(
                "order_defect_rate", "high", 40, "Order defect rate 1.4% (target under 1%).", 21
            ),
            DemoViolation(
                "a_to_z_claims", "medium", 20, "Five A-to-z claims granted this month.", 15
            ),
            DemoViolation(
                "customer_response_time",
                "low",
                5,
                "Weekend messages answered after 24 hours.",
                30,
                resolved=True,
            ),
        ),
    ),
    DemoSeller(
        seller_id="DEMO-US-004",
        name="Pat's Attic",
        store="US",
        situation="not eligible: individual selling account",
        account_type=Seller.AccountType.INDIVIDUAL,
        phone="+14155550104",
        typical_score=560,
        violations=(
            DemoViolation("listing_quality", "low", 5, "Two listings without a main image.", 11),
        ),
    ),
    DemoSeller(
        seller_id="DEMO-US-005",
        name="Slipping Sales Co",
        store="US",
        situation="at risk today (AHR 170): an account-health case, outreach under way",
        phone="+14155550106",
        typical_score=380,
        latest_score=170,
        violations=(
            DemoViolation("late_shipment_rate", "high", 60, "Late shipment rate 9% this month.", 6),
            DemoViolation(
                "order_defect_rate", "high", 45, "Order defect rate 1.8% (target under 1%).", 10
            ),
            DemoViolation("listing_quality", "low", 5, "Four listings without a size chart.", 20),
        ),
    ),
    DemoSeller(
        seller_id="DEMO-CA-001",
        name="Maple Leaf Supply",
        store="CA",
        situation="not eligible: emergency contact not verified",
        phone="+14165550105",
        phone_verified=False,
        typical_score=680,
        low_days_ago=(55, 56),
        violations=(
            DemoViolation(
                "inventory_performance",
                "medium",
                10,
                "Stranded inventory above 10% for six weeks.",
                18,
            ),
        ),
    ),
    DemoSeller(
        seller_id="DEMO-DE-001",
        name="Berliner Buchladen",
        store="DE",
        situation="not eligible: AHA not yet switched on in DE",
        phone="+493012345678",
        typical_score=700,
        low_days_ago=(66,),
        violations=(
            DemoViolation(
                "intellectual_property",
                "high",
                35,
                "A trademark complaint about one listing.",
                25,
            ),
        ),
    ),
]


def demo_history(demo: DemoSeller, *, today: dt.date, rules: Rules) -> list[dict]:
    """Daily AHR rows up to ``today``: a gentle random walk, below the threshold on the low days."""
    rng = random.Random(demo.seller_id)
    days = demo.history_days
    if days is None:
        days = (today - rules.window_start(today)).days + 14
    low_days = {today - dt.timedelta(days=ago) for ago in demo.low_days_ago}
    rows = []
    score = demo.typical_score
    for ago in range(days, -1, -1):
        day = today - dt.timedelta(days=ago)
        # Drift around the typical score, never down to the threshold unless meant to.
        score = max(rules.threshold + 20, min(990, score + rng.randint(-18, 18)))
        score += (demo.typical_score - score) // 8
        value = rng.randint(120, rules.threshold - 10) if day in low_days else score
        rows.append({"seller_id": demo.seller_id, "date": day.isoformat(), "score": value})
    if demo.latest_score is not None:
        rows[-1]["score"] = demo.latest_score
    return rows


def seed_sellers(*, today: dt.date | None = None) -> list[tuple[DemoSeller, Seller]]:
    """Creates or refreshes the demo sellers, their history, violations and enrollment."""
    today = today or timezone.localdate()
    rules = Rules.current()
    seeded = []
    rows: list[dict] = []
    for demo in DEMO_SELLERS:
        seller, _ = seller_upsert(
            seller_id=demo.seller_id,
            name=demo.name,
            store_code=demo.store,
            account_type=demo.account_type,
            email=f"{demo.seller_id.lower()}@demo.aha-desk.test",
        )
        if demo.phone:
            contact = getattr(seller, "emergency_contact", None)
            already_verified = (
                contact is not None
                and str(contact.phone) == demo.phone
                and contact.verified_at is not None
            )
            emergency_contact_set(
                seller=seller,
                phone=demo.phone,
                # The marketplace verified it; re-stamping it on every run would be noise.
                verified_by="upstream" if demo.phone_verified and not already_verified else None,
            )
        seller.users.set(User.objects.filter(username__in=demo.logins))
        for violation in demo.violations:
            opened_on = today - dt.timedelta(days=violation.days_ago)
            Violation.objects.update_or_create(
                seller=seller,
                policy_area=violation.policy_area,
                defaults={
                    "severity": violation.severity,
                    "points": violation.points,
                    "description": violation.description,
                    "opened_on": opened_on,
                    "status": Violation.Status.RESOLVED
                    if violation.resolved
                    else Violation.Status.OPEN,
                    "resolved_on": today - dt.timedelta(days=violation.days_ago // 2)
                    if violation.resolved
                    else None,
                },
            )
        rows.extend(demo_history(demo, today=today, rules=rules))
        seeded.append((demo, seller))
    ahr_ingest(rows, today=today)
    assurance_evaluate(day=today)
    return seeded
