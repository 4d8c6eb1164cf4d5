"""Geometry of the portal's AHR chart, drawn by the template as an inline SVG.

Everything here is plain arithmetic on ``(date, score)`` pairs so the template only
places numbers: no JavaScript, no external library (the portal must work offline).
"""

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

# AHR runs from 0 to 1000 (docs/domain.md "Account Health Rating").
MAX_SCORE = 1000
# Shaded bands below Healthy: At Risk 100-199 and Unhealthy 0-99.
SHADED_BANDS = [(0, 100, "unhealthy"), (100, 200, "at-risk")]
Y_TICKS = [0, 200, 400, 600, 800, 1000]


@dataclass(frozen=True)
class ChartPoint:
    x: float
    y: float
    day: dt.date
    score: int
    below: bool


@dataclass(frozen=True)
class Tick:
    position: float
    label: str


@dataclass(frozen=True)
class Band:
    y: float
    height: float
    name: str


@dataclass(frozen=True)
class AhrChart:
    width: int
    height: int
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float
    threshold: int
    threshold_y: float
    points: list[ChartPoint]
    # Polyline ``points`` attributes, one per run of consecutive days: a day without a
    # value breaks the line instead of drawing a value nobody reported.
    lines: list[str]
    # Points that are alone in their run (no line to draw) and not already drawn as below.
    dots: list[ChartPoint]
    below_points: list[ChartPoint]
    latest: ChartPoint | None
    y_ticks: list[Tick]
    x_ticks: list[Tick]
    bands: list[Band]
    summary: str

    @property
    def view_box(self) -> str:
        return f"0 0 {self.width} {self.height}"

    @property
    def plot_width(self) -> float:
        return self.plot_right - self.plot_left

    # Where the template writes the labels, so it does no arithmetic of its own.
    @property
    def y_label_x(self) -> float:
        return self.plot_left - 6

    @property
    def x_label_y(self) -> float:
        return self.plot_bottom + 18

    @property
    def center_x(self) -> float:
        return round((self.plot_left + self.plot_right) / 2, 1)

    @property
    def center_y(self) -> float:
        return round((self.plot_top + self.plot_bottom) / 2, 1)

    @property
    def threshold_label_x(self) -> float:
        return self.plot_right - 4

    @property
    def threshold_label_y(self) -> float:
        return self.threshold_y - 6


def ahr_chart(
    series: Sequence[tuple[dt.date, int]],
    *,
    start: dt.date,
    end: dt.date,
    threshold: int,
    width: int = 720,
    height: int = 260,
) -> AhrChart:
    """Places each day's AHR on a ``width`` x ``height`` canvas, ``start`` at the left edge.

    The y axis always spans 0-1000, so a chart never exaggerates a small move and the
    threshold sits at the same height for every seller.
    """
    left, right, top, bottom = 44.0, width - 12.0, 14.0, height - 30.0
    span_days = max((end - start).days, 1)

    def x_of(day: dt.date) -> float:
        return round(left + (day - start).days / span_days * (right - left), 1)

    def y_of(score: float) -> float:
        return round(bottom - score / MAX_SCORE * (bottom - top), 1)

    points = [
        ChartPoint(x=x_of(day), y=y_of(score), day=day, score=score, below=score < threshold)
        for day, score in sorted(series)
    ]
    runs: list[list[ChartPoint]] = []
    for point in points:
        if runs and (point.day - runs[-1][-1].day).days == 1:
            runs[-1].append(point)
        else:
            runs.append([point])
    lines = [" ".join(f"{p.x},{p.y}" for p in run) for run in runs if len(run) > 1]
    dots = [run[0] for run in runs if len(run) == 1 and not run[0].below]

    x_ticks = []
    month = dt.date(start.year, start.month, 1)
    while month <= end:
        if month >= start:
            label = f"{month:%b %Y}" if not x_ticks or month.month == 1 else f"{month:%b}"
            x_ticks.append(Tick(position=x_of(month), label=label))
        month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)

    bands = [
        Band(y=y_of(high), height=round(y_of(low) - y_of(high), 1), name=name)
        for low, high, name in SHADED_BANDS
    ]
    below_points = [point for point in points if point.below]
    return AhrChart(
        width=width,
        height=height,
        plot_left=left,
        plot_right=right,
        plot_top=top,
        plot_bottom=bottom,
        threshold=threshold,
        threshold_y=y_of(threshold),
        points=points,
        lines=lines,
        dots=dots,
        below_points=below_points,
        latest=points[-1] if points else None,
        y_ticks=[Tick(position=y_of(value), label=str(value)) for value in Y_TICKS],
        x_ticks=x_ticks,
        bands=bands,
        summary=_summary(points, start=start, end=end, threshold=threshold),
    )


def _summary(points: list[ChartPoint], *, start: dt.date, end: dt.date, threshold: int) -> str:
    """The chart in one sentence, for screen readers (the SVG's ``<desc>``)."""
    period = f"from {_day(start)} to {_day(end)}"
    if not points:
        return f"No Account Health Rating values {period}."
    scores = [point.score for point in points]
    below = sum(point.below for point in points)
    return (
        f"{len(points)} daily values {period}: lowest {min(scores)}, highest {max(scores)}, "
        f"latest {scores[-1]} on {_day(points[-1].day)}. "
        f"{below} day{'s' if below != 1 else ''} below the threshold of {threshold}."
    )


def _day(day: dt.date) -> str:
    return f"{day.day} {day:%b %Y}"
