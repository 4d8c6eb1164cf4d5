"""``/reports/``: SLA reports for managers (``accounts.view_reports``).

For now the account-health figures of issue 15 (``reports.selectors``), as a table and
as a CSV of the same rows; the rest of the SLA report is issue #11.
"""

import csv
import datetime as dt

from django.contrib.auth.mixins import PermissionRequiredMixin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone
from django.views import View

from reports.forms import PeriodForm
from reports.selectors import AccountHealthRow, account_health_figures, account_health_totals

CSV_COLUMNS = [
    "store",
    "iso_week",
    "week_start",
    "opened",
    "first_attempt_decided",
    "first_attempt_in_time",
    "first_attempt_share",
    "recovery_decided",
    "recovered_within_30_days",
    "recovered_share",
]


def _share(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _csv_row(row: AccountHealthRow) -> list:
    return [
        row.store,
        row.iso_week,
        row.week.isoformat(),
        row.opened,
        row.first_attempt_decided,
        row.first_attempt_in_time,
        _share(row.first_attempt_share),
        row.recovery_decided,
        row.recovered,
        _share(row.recovered_share),
    ]


class ReportsIndexView(PermissionRequiredMixin, View):
    """SLA reports for managers: the account-health figures by store and week."""

    permission_required = "accounts.view_reports"

    def get(self, request: HttpRequest) -> HttpResponse:
        now = timezone.now()
        form = PeriodForm(request.GET or None, today=now.astimezone(dt.UTC).date())
        context = {"form": form, "rows": None, "totals": None}
        if request.GET and not form.is_valid():
            return render(request, "reports/index.html", context)
        start, end = form.period()
        rows = account_health_figures(start=start, end=end, now=now)
        context.update(
            start=start,
            end=end,
            rows=rows,
            totals=account_health_totals(rows),
            csv_query=f"start={start.isoformat()}&end={end.isoformat()}",
        )
        return render(request, "reports/index.html", context)


class AccountHealthCsvView(PermissionRequiredMixin, View):
    """The same rows as the page's table, one per store and week."""

    permission_required = "accounts.view_reports"

    def get(self, request: HttpRequest) -> HttpResponse:
        now = timezone.now()
        form = PeriodForm(request.GET or None, today=now.astimezone(dt.UTC).date())
        if request.GET and not form.is_valid():
            problems = "; ".join(
                f"{field}: {' '.join(errors)}" for field, errors in form.errors.items()
            )
            return HttpResponse(problems, status=400, content_type="text/plain; charset=utf-8")
        start, end = form.period()
        response = HttpResponse(content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="account-health-{start.isoformat()}-{end.isoformat()}.csv"'
        )
        writer = csv.writer(response)
        writer.writerow(CSV_COLUMNS)
        for row in account_health_figures(start=start, end=end, now=now):
            writer.writerow(_csv_row(row))
        return response
