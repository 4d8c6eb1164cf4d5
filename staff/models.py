"""The people who work cases: on duty or not, where a call reaches them, which stores."""

from django.conf import settings
from django.db import models
from phonenumber_field.modelfields import PhoneNumberField

from sellers.models import Store


class Specialist(models.Model):
    """A person who works cases: whether on duty now, where they work, which stores."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="specialist"
    )
    on_duty = models.BooleanField(default=False)
    phone = PhoneNumberField(
        blank=True, help_text="Where a seller's answered call is connected (E.164)."
    )
    time_zone = models.CharField(max_length=64, default="UTC")
    stores = models.ManyToManyField(Store, related_name="specialists", blank=True)

    class Meta:
        # Moved from the cases app without moving its rows (staff/migrations/0001).
        db_table = "cases_specialist"

    def __str__(self) -> str:
        return self.user.get_full_name() or self.user.username
