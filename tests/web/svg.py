"""Helpers to read the server-rendered SVG charts out of a page."""

from __future__ import annotations

import xml.etree.ElementTree as ET

SVG = "{http://www.w3.org/2000/svg}"


def chart_in(page: str, section_id: str) -> ET.Element:
    """The first ``<svg>`` after the element with ``id=section_id``, parsed as XML."""
    start = page.index(f'id="{section_id}"')
    svg_start = page.index("<svg", start)
    svg_end = page.index("</svg>", svg_start) + len("</svg>")
    return ET.fromstring(page[svg_start:svg_end])


def values(chart: ET.Element, tag: str) -> dict[tuple[str, str], str]:
    """(series, category) → data-value of every data element (``circle`` or ``rect``)."""
    return {
        (el.attrib["data-series"], el.attrib["data-category"]): el.attrib["data-value"]
        for el in chart.iter(f"{SVG}{tag}")
        if "data-value" in el.attrib
    }


def texts(chart: ET.Element, css_class: str) -> list[str]:
    """Text of the ``<text>`` elements of ``css_class``."""
    return [el.text or "" for el in chart.iter(f"{SVG}text") if el.attrib.get("class") == css_class]


def legend(chart: ET.Element) -> list[str]:
    """Series names in the legend."""
    return [
        el.attrib["data-series"]
        for el in chart.iter(f"{SVG}g")
        if el.attrib.get("class") == "legend-item"
    ]
