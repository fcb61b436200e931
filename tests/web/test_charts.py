"""The SVG chart module: ticks, geometry, labels, legend, escaping, empty data."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tests.web.svg import SVG, legend, texts, values
from voicebot.web.charts import Series, bar_chart, format_percent, line_chart, nice_ticks


@pytest.mark.parametrize(
    ("maximum", "ticks"),
    [
        (7, [0, 2, 4, 6, 8]),
        (100, [0, 25, 50, 75, 100]),
        (1.0, [0, 0.25, 0.5, 0.75, 1.0]),
        (3, [0, 1, 2, 3]),
        (1234, [0, 500, 1000, 1500]),
        (0, [0, 1]),
    ],
)
def test_nice_ticks_cover_the_maximum_with_round_steps(maximum: float, ticks: list[float]) -> None:
    assert nice_ticks(maximum) == ticks


def test_line_chart_places_points_by_value_with_axes_and_legend() -> None:
    svg = line_chart(
        ["04/03", "05/03", "06/03"],
        [Series("population", (1, 4, 2)), Series("waste", (0, 1, 3))],
        title="Requests per intent",
    )
    chart = ET.fromstring(str(svg))
    assert chart.find(f"{SVG}title").text == "Requests per intent"  # type: ignore[union-attr]
    assert values(chart, "circle") == {
        ("population", "04/03"): "1",
        ("population", "05/03"): "4",
        ("population", "06/03"): "2",
        ("waste", "04/03"): "0",
        ("waste", "05/03"): "1",
        ("waste", "06/03"): "3",
    }
    points = {
        (c.attrib["data-series"], c.attrib["data-category"]): (
            float(c.attrib["cx"]),
            float(c.attrib["cy"]),
        )
        for c in chart.iter(f"{SVG}circle")
    }
    # Higher values are higher up (smaller y); zero sits on the x axis; x follows categories.
    assert (
        points[("population", "05/03")][1]
        < points[("population", "06/03")][1]
        < points[("population", "04/03")][1]
    )
    assert points[("waste", "04/03")][1] == pytest.approx(300 - 48)
    assert points[("population", "04/03")][0] < points[("population", "05/03")][0]
    assert texts(chart, "tick-label") == ["0", "1", "2", "3", "4"]
    assert texts(chart, "category-label") == ["04/03", "05/03", "06/03"]
    assert legend(chart) == ["population", "waste"]
    assert len(list(chart.iter(f"{SVG}polyline"))) == 2


def test_bar_chart_heights_are_proportional() -> None:
    chart = ET.fromstring(
        str(bar_chart(["transferred", "answered"], [Series("calls", (3, 2))], title="Outcomes"))
    )
    bars = {
        r.attrib["data-category"]: float(r.attrib["height"])
        for r in chart.iter(f"{SVG}rect")
        if "data-value" in r.attrib
    }
    assert bars["transferred"] / bars["answered"] == pytest.approx(1.5)
    assert texts(chart, "bar-value") == ["3", "2"]


def test_percent_axis_and_labels_are_escaped() -> None:
    chart = ET.fromstring(
        str(
            line_chart(
                ["<b>&"],
                [Series('"quoted" <series>', (0.5,))],
                title="Share <of> calls",
                y_format=format_percent,
                y_max=1.0,
            )
        )
    )
    assert texts(chart, "tick-label")[-1] == "100 %"
    assert texts(chart, "category-label") == ["<b>&"]
    assert legend(chart) == ['"quoted" <series>']


def test_empty_charts_say_so_and_bad_series_are_refused() -> None:
    empty = ET.fromstring(str(bar_chart([], [], title="Nothing")))
    assert "chart-empty" in empty.attrib["class"]
    assert "No data" in "".join(empty.itertext())
    with pytest.raises(ValueError, match="has 1 values for 2 categories"):
        line_chart(["a", "b"], [Series("s", (1,))], title="t")
    with pytest.raises(ValueError, match="finite and non-negative"):
        bar_chart(["a"], [Series("s", (float("nan"),))], title="t")


def test_palette_colours_contrast_with_the_card_and_each_other() -> None:
    from voicebot.web.charts import BACKGROUND, PALETTE, contrast_ratio

    assert contrast_ratio("#000000", "#ffffff") == pytest.approx(21.0)
    for colour in PALETTE:
        assert contrast_ratio(colour, BACKGROUND) >= 3.0
    assert contrast_ratio(PALETTE[0], PALETTE[1]) >= 3.0


def test_a_third_series_is_refused_rather_than_drawn_in_a_weak_colour() -> None:
    with pytest.raises(ValueError, match="at most 2"):
        bar_chart(["a"], [Series("x", (1,)), Series("y", (2,)), Series("z", (3,))], title="t")


def test_linked_charts_are_groups_of_named_links() -> None:
    svg = bar_chart(
        ["Service Population", "Propreté"],
        [Series("appels", (2, 1))],
        title="Appels",
        links=["/calls?department=population", None],
    )
    chart = ET.fromstring(str(svg))
    assert chart.attrib["role"] == "group"
    links = list(chart.iter(f"{SVG}a"))
    assert [(a.attrib["href"], a.attrib["aria-label"]) for a in links] == [
        ("/calls?department=population", "appels, Service Population: 2")
    ]
    with pytest.raises(ValueError, match="1 links for 2 categories"):
        bar_chart(["a", "b"], [Series("x", (1, 2))], title="t", links=["/x"])
    plain = ET.fromstring(str(bar_chart(["a"], [Series("x", (1,))], title="t")))
    assert plain.attrib["role"] == "img"


def test_horizontal_bars_keep_long_labels_readable() -> None:
    from voicebot.web.charts import hbar_chart

    question = "Quelles sont les heures d'ouverture du parc à conteneurs le samedi ?"
    svg = hbar_chart([question, "Passeport"], Series("appels", (30, 3)), title="Demandes")
    chart = ET.fromstring(str(svg))
    assert values(chart, "rect") == {("appels", question): "30", ("appels", "Passeport"): "3"}
    assert texts(chart, "category-label") == [question, "Passeport"]
    widths = [float(r.attrib["width"]) for r in chart.iter(f"{SVG}rect")]
    assert widths[0] == pytest.approx(10 * widths[1], rel=0.01)
    empty = ET.fromstring(str(hbar_chart([], Series("appels", ()), title="D", empty_text="Rien")))
    assert "Rien" in "".join(empty.itertext())
