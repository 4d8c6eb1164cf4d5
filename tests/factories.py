"""factory_boy factories shared by the whole suite."""

import factory
from django.contrib.auth.models import Group

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
