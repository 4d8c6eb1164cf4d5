"""The report's period: UTC dates, inclusive, the last 8 ISO weeks unless chosen."""

import datetime as dt

from django import forms

from reports.selectors import default_period

# A period longer than this is refused: a report, not a dump of the table.
MAX_PERIOD = dt.timedelta(days=3 * 366)


class PeriodForm(forms.Form):
    start = forms.DateField(
        required=False,
        label="From (UTC)",
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    end = forms.DateField(
        required=False,
        label="To (UTC, inclusive)",
        input_formats=["%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args: object, today: dt.date, **kwargs: object) -> None:
        start, end = default_period(today)
        kwargs.setdefault("initial", {"start": start, "end": end})
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self) -> dict:
        data = super().clean()
        default_start, default_end = default_period(self.today)
        start = data.get("start") or default_start
        end = data.get("end") or default_end
        if "start" in self.errors or "end" in self.errors:
            return data
        if start > end:
            self.add_error("end", "The end of the period is before its start.")
        elif end - start > MAX_PERIOD:
            self.add_error("start", "Choose a period of at most three years.")
        data["start"], data["end"] = start, end
        return data

    def period(self) -> tuple[dt.date, dt.date]:
        """The chosen period, or the default one when what was typed is not valid."""
        if self.is_valid():
            return self.cleaned_data["start"], self.cleaned_data["end"]
        return default_period(self.today)
