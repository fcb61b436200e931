"""The dashboard through HTTP: figures, panels and their tables, filters, links, CSV."""

from __future__ import annotations

import csv
import io
import re
import urllib.parse
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Api
from tests.web.svg import chart_in, values
from tests.web.test_pages import sign_in

PERIOD = "start=2024-03-01&end=2024-03-10"
DASHBOARD = f"/dashboard?{PERIOD}"
HOURS = "quelles sont vos heures d'ouverture"


@pytest.fixture
def manager(api: Api) -> Iterator[TestClient]:
    with api.fresh_client() as client:
        sign_in(client, "manager")
        yield client


def figure(html: str, figure_id: str) -> tuple[str, str]:
    """(value, link) of a headline figure."""
    match = re.search(
        rf'<a class="kpi" id="{figure_id}" href="([^"]+)"><span class="value">([^<]+)<', html
    )
    assert match, figure_id
    return match.group(2), match.group(1).replace("&amp;", "&")


def table_rows(html: str, table_id: str) -> list[list[str]]:
    """The text of each body row's cells of a table."""
    body = html.split(f'id="{table_id}"', 1)[1].split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = []
    for row in body.split("<tr>")[1:]:
        cells = re.findall(r"<t[hd][^>]*>(.*?)</t[hd]>", row, re.S)
        rows.append([re.sub(r"<[^>]+>", "", cell).strip().replace("&#39;", "'") for cell in cells])
    return rows


def links_of(html: str, table_id: str) -> list[str]:
    body = html.split(f'id="{table_id}"', 1)[1].split("</table>", 1)[0]
    return [href.replace("&amp;", "&") for href in re.findall(r'href="([^"]+)"', body)]


def test_headline_figures_link_to_their_calls(manager: TestClient) -> None:
    html = manager.get(DASHBOARD).text
    assert figure(html, "kpi-calls") == ("7", f"/calls?{PERIOD}")
    assert figure(html, "kpi-contained") == ("29\xa0%", f"/calls?{PERIOD}&contained=yes")
    assert figure(html, "kpi-transferred") == (
        "43\xa0%",
        f"/calls?{PERIOD}&outcome=transferred&outcome=operator",
    )
    assert figure(html, "kpi-callbacks") == ("1", f"/calls?{PERIOD}&callback=yes")
    assert figure(html, "kpi-duration")[0] == "1\xa0min 00\xa0s"
    rule = html.split('id="containment-rule"', 1)[1].split("</details>", 1)[0]
    assert "Comment « résolu par l'assistant » est compté" in rule
    assert "pas deux fois la même réponse" in rule


def test_top_requests_count_calls_and_keep_dialog_acts_apart(manager: TestClient) -> None:
    html = manager.get(DASHBOARD).text
    chart = values(chart_in(html, "chart-requests"), "rect")
    assert chart == {
        ("appels", HOURS): "2",
        ("appels", "Service Population"): "2",
        ("appels", "Propreté"): "1",
    }
    assert table_rows(html, "chart-requests-table") == [
        [HOURS, "2"],
        ["Service Population", "2"],
        ["Propreté", "1"],
    ]
    assert (
        links_of(html, "chart-requests-table")[0] == f"/calls?{PERIOD}&intent=faq%3Aopening_hours"
    )
    # "Not understood" is no request: it is in the table of the other turns.
    assert table_rows(html, "dialog-acts-table") == [["Non compris", "2"]]


def test_every_panel_has_its_table(manager: TestClient) -> None:
    html = manager.get(DASHBOARD).text
    assert table_rows(html, "chart-outcomes-table") == [
        ["Transféré à un service", "3"],
        ["Répondu par l'assistant", "2"],
        ["Rappel demandé", "1"],
        ["Non traité", "1"],
    ]
    assert table_rows(html, "chart-contained-table") == [
        ["4 mars", "4", "1", "25\xa0%"],
        ["5 mars", "3", "1", "33\xa0%"],
    ]
    assert table_rows(html, "chart-departments-table") == [
        ["Service Population", "2", "2", "2", "100\xa0%"],
        ["Propreté", "1", "1", "0", "0\xa0%"],
    ]
    departments = values(chart_in(html, "chart-departments"), "rect")
    assert departments[("transferts décrochés", "Service Population")] == "2"


def test_figures_and_tables_match_the_calls_they_link_to(manager: TestClient) -> None:
    html = manager.get(DASHBOARD).text
    checked = 0
    for table in ("chart-requests-table", "chart-outcomes-table", "chart-departments-table"):
        for row, link in zip(table_rows(html, table), links_of(html, table), strict=True):
            listed = manager.get(link).text
            count = re.search(r'id="result-count"[^>]*>Appels 1 à \d+ sur (\d+)<', listed)
            assert count and count.group(1) == row[1], (table, row, link)
            checked += 1
    assert checked == 9
    contained = manager.get(figure(html, "kpi-contained")[1]).text
    assert "Appels 1 à 2 sur 2" in contained


def test_not_understood_groups_link_to_their_calls(manager: TestClient) -> None:
    html = manager.get(DASHBOARD).text
    link = re.search(r'<tr class="question-group">.*?href="([^"]+)"', html, re.S)
    assert link
    calls = manager.get(link.group(1).replace("&amp;", "&")).text
    assert "Appels 1 à 1 sur 1" in calls or "Appels 1 à 2 sur 2" in calls
    assert "permis de pêche" in calls


def test_language_and_department_filters_apply_to_every_panel(manager: TestClient) -> None:
    english = manager.get(f"{DASHBOARD}&language=en").text
    assert figure(english, "kpi-calls")[0] == "2"
    assert table_rows(english, "chart-requests-table") == [[HOURS, "1"], ["Propreté", "1"]]
    assert table_rows(english, "chart-outcomes-table") == [
        ["Répondu par l'assistant", "1"],
        ["Transféré à un service", "1"],
    ]
    assert table_rows(english, "dialog-acts-table") == [["Aucune donnée pour cette période"]]
    population = manager.get(f"{DASHBOARD}&department=population&bucket=week").text
    assert figure(population, "kpi-calls") == ("2", f"/calls?{PERIOD}&department=population")
    assert table_rows(population, "chart-requests-table") == [["Service Population", "2"]]
    assert table_rows(population, "chart-departments-table") == [
        ["Service Population", "2", "2", "2", "100\xa0%"]
    ]
    assert table_rows(population, "chart-contained-table") == [
        ["semaine du 4 mars", "2", "0", "0\xa0%"]
    ]
    assert "Aucune sur cette période." in population  # its calls were all understood
    assert 'option value="population" selected' in population


@pytest.mark.parametrize(
    ("query", "message"),
    [
        (
            "start=2024-03-10&end=2024-03-01",
            "La date de début ne peut pas être après la date de fin.",
        ),
        ("start=demain", "start : demain n&#39;est pas une date (AAAA-MM-JJ)"),
        ("bucket=hour", "hour : choisissez par jour ou par semaine."),
        ("start=2022-01-01&end=2024-01-01", "La période est limitée à 366 jours."),
        ("department=a%20b", "department : a b n&#39;est pas un code valide"),
    ],
)
def test_bad_filters_are_explained_in_french(manager: TestClient, query: str, message: str) -> None:
    page = manager.get(f"/dashboard?{query}")
    assert page.status_code == 422 and message in page.text
    assert 'href="/calls"' in page.text  # the navigation stays


def test_csv_for_excel_in_french(manager: TestClient) -> None:
    response = manager.get("/dashboard/calls.csv?start=2024-03-05&end=2024-03-05&language=en")
    assert response.status_code == 200
    body = response.content.decode("utf-8")
    assert body.startswith("\ufeffcall_id;started_at;")
    rows = list(csv.DictReader(io.StringIO(body.removeprefix("\ufeff")), delimiter=";"))
    assert {r["call_id"] for r in rows} == {"c-faq-2", "c-waste-1"}
    faq = next(r for r in rows if r["call_id"] == "c-faq-2")
    assert faq["started_at"] == "2024-03-05 10:00:00"  # Brussels time, as Excel reads dates
    assert faq["asr_confidence_mean"] == "0,9" and faq["duration_s"] == "60,0"


def test_csv_in_english_keeps_commas(api: Api, manager: TestClient) -> None:
    manager.get("/language/en")
    response = manager.get("/dashboard/calls.csv?start=2024-03-05&end=2024-03-05&department=waste")
    body = response.text
    assert not body.startswith("\ufeff")
    [row] = list(csv.DictReader(io.StringIO(body)))
    assert row["call_id"] == "c-waste-1" and row["started_at"] == "2024-03-05T10:05:00+01:00"
    assert row["duration_s"] == "60.0"
    assert urllib.parse.quote("x") == "x"
