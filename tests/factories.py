"""factory_boy factories shared by the whole suite."""

import factory
from django.contrib.auth.models import Group
from django.utils import timezone

from accounts.models import User
from accounts.roles import STAFF_ROLES

PASSWORD = "correct-horse-battery"


class UserFactory(factory.django.DjangoModelFactory):
    """A user; ``UserFactory(role=Role.SELLER)`` puts them in that role's group."""

    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.test")
    password = factory.django.Password(PASSWORD)

    @factory.post_generation
    def role(self, create: bool, extracted: str | None, **kwargs: object) -> None:
        if not (create and extracted):
            return
        self.groups.add(Group.objects.get(name=extracted))
        if extracted in STAFF_ROLES:
            self.is_staff = True
            self.save(update_fields=["is_staff"])


class AdminFactory(UserFactory):
    is_staff = True
    is_superuser = True


class StoreFactory(factory.django.DjangoModelFactory):
    """Stores come from a data migration: this fetches them by code (US by default)."""

    class Meta:
        model = "sellers.Store"
        django_get_or_create = ("code",)

    code = "US"
    name = "United States"
    time_zone = "America/Los_Angeles"
    language = "en"
    aha_enabled = True


class SellerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "sellers.Seller"
        django_get_or_create = ("seller_id",)

    seller_id = factory.Sequence(lambda n: f"A{n:07d}")
    name = factory.Faker("company")
    store = factory.SubFactory(StoreFactory)
    account_type = "professional"
    email = factory.LazyAttribute(lambda seller: f"{seller.seller_id.lower()}@sellers.example.test")


class EmergencyContactFactory(factory.django.DjangoModelFactory):
    """A verified, callable US mobile-or-landline number."""

    class Meta:
        model = "sellers.EmergencyContact"

    seller = factory.SubFactory(SellerFactory)
    phone = factory.Sequence(lambda n: f"+1415555{n % 10000:04d}")
    verified_at = factory.LazyFunction(timezone.now)
    verified_by = "upstream"


class ViolationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "sellers.Violation"

    seller = factory.SubFactory(SellerFactory)
    policy_area = "late_shipment_rate"
    severity = "high"
    points = 20
    opened_on = factory.Faker("date_this_year")


class SpecialistFactory(factory.django.DjangoModelFactory):
    """An on-duty specialist serving the US store."""

    class Meta:
        model = "staff.Specialist"
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory, role="specialists")
    on_duty = True
    time_zone = "America/Los_Angeles"

    @factory.post_generation
    def stores(self, create: bool, extracted: list | None, **kwargs: object) -> None:
        if create:
            from sellers.models import Store

            self.stores.set(extracted or [Store.objects.get(code="US")])


class CaseFactory(factory.django.DjangoModelFactory):
    """An opened case; use cases.services.case_open where the rules of opening matter."""

    class Meta:
        model = "cases.Case"

    seller = factory.SubFactory(SellerFactory)
    policy_area = "late_shipment_rate"
    severity = "critical"
    summary = factory.Faker("sentence", nb_words=6)
    upstream_id = factory.Sequence(lambda n: f"UP-{n:07d}")


class UnverifiedContactFactory(EmergencyContactFactory):
    """A callable number on file that has not been verified yet."""

    verified_at = None
    verified_by = ""


class PhoneVerificationFactory(factory.django.DjangoModelFactory):
    """A code sent by SMS to the seller's number; use sellers.services.verification to send."""

    class Meta:
        model = "sellers.PhoneVerification"

    seller = factory.SubFactory(SellerFactory)
    phone = "+14155550101"
    channel = "sms"
    verification_sid = factory.Sequence(lambda n: f"VE{n:032x}")
