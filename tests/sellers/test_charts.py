import datetime as dt

from sellers.charts import ahr_chart

START = dt.date(2025, 9, 15)
END = dt.date(2026, 3, 15)


def days(first: dt.date, scores: list[int]) -> list[tuple[dt.date, int]]:
    return [(first + dt.timedelta(days=offset), score) for offset, score in enumerate(scores)]


def test_window_spans_the_plot_from_left_to_right_and_0_to_1000_bottom_to_top():
    chart = ahr_chart([(START, 0), (END, 1000)], start=START, end=END, threshold=250)
    first, last = chart.points
    assert (first.x, first.y) == (chart.plot_left, chart.plot_bottom)
    assert (last.x, last.y) == (chart.plot_right, chart.plot_top)


def test_threshold_line_sits_a_quarter_of_the_way_up():
    chart = ahr_chart([], start=START, end=END, threshold=250)
    height = chart.plot_bottom - chart.plot_top
    assert chart.threshold_y == round(chart.plot_bottom - height / 4, 1)
    assert chart.threshold_label_y < chart.threshold_y  # the label sits above the line


def test_days_below_the_threshold_are_marked_and_250_itself_is_not():
    chart = ahr_chart(days(START, [300, 249, 250, 10]), start=START, end=END, threshold=250)
    assert [(point.day, point.score) for point in chart.below_points] == [
        (START + dt.timedelta(days=1), 249),
        (START + dt.timedelta(days=3), 10),
    ]


def test_a_day_without_a_value_breaks_the_line():
    series = days(START, [500, 510, 520]) + days(START + dt.timedelta(days=5), [530, 540])
    chart = ahr_chart(series, start=START, end=END, threshold=250)
    assert len(chart.lines) == 2
    assert [len(line.split()) for line in chart.lines] == [3, 2]


def test_a_lone_value_is_drawn_as_a_dot_unless_already_marked_below():
    series = [
        (START, 600),
        (START + dt.timedelta(days=3), 100),
        (START + dt.timedelta(days=9), 700),
    ]
    chart = ahr_chart(series, start=START, end=END, threshold=250)
    assert chart.lines == []
    assert [point.score for point in chart.dots] == [600, 700]
    assert [point.score for point in chart.below_points] == [100]
    assert chart.latest.score == 700


def test_months_are_labelled_at_their_first_day_with_the_year_on_the_first_label():
    chart = ahr_chart([], start=START, end=END, threshold=250)
    assert [tick.label for tick in chart.x_ticks] == [
        "Oct 2025",
        "Nov",
        "Dec",
        "Jan 2026",
        "Feb",
        "Mar",
    ]
    positions = [tick.position for tick in chart.x_ticks]
    assert positions == sorted(positions)
    assert chart.plot_left < positions[0]
    assert positions[-1] < chart.plot_right


def test_bands_below_healthy_are_shaded_at_the_bottom():
    chart = ahr_chart([], start=START, end=END, threshold=250)
    unhealthy, at_risk = chart.bands
    assert unhealthy.y + unhealthy.height == chart.plot_bottom
    assert at_risk.y + at_risk.height == unhealthy.y


def test_summary_reads_the_chart_in_words():
    chart = ahr_chart(days(START, [400, 200, 800]), start=START, end=END, threshold=250)
    assert chart.summary == (
        "3 daily values from 15 Sep 2025 to 15 Mar 2026: lowest 200, highest 800, "
        "latest 800 on 17 Sep 2025. 1 day below the threshold of 250."
    )


def test_empty_window_has_nothing_to_draw_and_says_so():
    chart = ahr_chart([], start=START, end=END, threshold=250)
    assert chart.points == chart.lines == chart.dots == []
    assert chart.latest is None
    assert chart.summary == "No Account Health Rating values from 15 Sep 2025 to 15 Mar 2026."
