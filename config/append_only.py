"""Append-only rows: audit trails that nobody edits or deletes, one row or in bulk."""

from typing import Any

from django.db import models


class AppendOnlyError(ValueError):
    pass


class AppendOnlyQuerySet(models.QuerySet):
    def update(self, **kwargs: Any) -> int:
        raise AppendOnlyError(f"{self.model._meta.verbose_name} rows are append-only.")

    def delete(self) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{self.model._meta.verbose_name} rows are append-only.")


class AppendOnlyModel(models.Model):
    """Rows are inserted once; ``save`` again, ``delete`` and bulk changes all refuse.

    ``mutable_fields`` lists bookkeeping columns that may still be set once (such as
    "emailed at"), through ``save(update_fields=[...])`` on those fields only.
    """

    mutable_fields: tuple[str, ...] = ()

    objects = AppendOnlyQuerySet.as_manager()

    class Meta:
        abstract = True

    def save(self, *args: Any, **kwargs: Any) -> None:
        update_fields = kwargs.get("update_fields")
        if self.pk is not None and not (
            update_fields and set(update_fields) <= set(self.mutable_fields)
        ):
            raise AppendOnlyError(f"{self._meta.verbose_name} rows are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> tuple[int, dict[str, int]]:
        raise AppendOnlyError(f"{self._meta.verbose_name} rows are append-only.")
