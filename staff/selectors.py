"""Reads about specialists that several apps need: who may take a piece of work now."""

from django.db.models import Expression, QuerySet

from sellers.models import Store
from staff.models import Specialist


def specialists_on_duty(*, store: Store) -> QuerySet[Specialist]:
    """Active specialists on duty who serve ``store``."""
    return Specialist.objects.filter(on_duty=True, stores=store, user__is_active=True)


def specialist_pick(*, store: Store, workload: Expression) -> Specialist | None:
    """The on-duty specialist serving ``store`` with the least ``workload``; ties by age.

    The caller says what counts as work (open cases, waiting call backs), so routing
    knows no case: ``workload`` is an aggregate over the specialist's rows, such as
    ``Count("user__assigned_cases", filter=...)``.
    """
    return (
        specialists_on_duty(store=store)
        .annotate(workload=workload)
        .order_by("workload", "pk")
        .select_related("user")
        .first()
    )


def is_specialist(user) -> bool:
    return Specialist.objects.filter(user=user).exists()
