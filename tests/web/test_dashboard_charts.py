"""The SVG charts: escaped text, a title on every element, values as text, patterns and links."""

from __future__ import annotations

import xml.etree.ElementTree as ET

from web.charts import Bar, Part, StackedBar, bar_chart, column_chart, stacked_chart

SVG = "{http://www.w3.org/2000/svg}"
XSS = '<script>alert(1)</script>"onload="x'


def parse(markup: str) -> ET.Element:
    return ET.fromstring(markup)  # noqa: S314 - our own output


def test_bar_chart_escapes_labels_and_shows_values_as_text() -> None:
    svg = str(
        bar_chart(
            "Поступило по муниципалитетам",
            [Bar(XSS, 12, "12", "/queue?municipality=1&from=2025-10-13"), Bar("Киров", 3, "3")],
        )
    )
    assert "<script>" not in svg
    root = parse(svg)  # well-formed: nothing from the label broke out of its element
    assert root.find(f"{SVG}title").text == "Поступило по муниципалитетам"  # type: ignore[union-attr]
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "12" in texts
    assert "3" in texts
    assert "Киров" in texts
    assert any(t and t.startswith("<script>") for t in texts)  # shown as text, clipped
    links = list(root.iter(f"{SVG}a"))
    assert [a.get("href") for a in links] == ["/queue?municipality=1&from=2025-10-13"]
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert "Киров: 3" in titles
    widths = [float(r.get("width", "0")) for r in root.iter(f"{SVG}rect")]
    assert widths[0] == 4 * widths[1]  # proportional to the values


def test_stacked_chart_tells_parts_apart_by_pattern_and_legend() -> None:
    svg = str(
        stacked_chart(
            "Сроки",
            [StackedBar("МИНЗДРАВ", (Part("в срок", 3, "/queue?a=1"), Part("с опозданием", 1)))],
            ("в срок", "с опозданием"),
        )
    )
    root = parse(svg)
    patterns = list(root.iter(f"{SVG}pattern"))
    assert len(patterns) == 4
    fills = {r.get("fill") for r in root.iter(f"{SVG}rect") if "url(" in (r.get("fill") or "")}
    assert len(fills) == 2  # the two parts use two different patterns
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert "в срок" in texts
    assert "с опозданием" in texts
    assert "3 / 1" in texts
    titles = [t.text for t in root.iter(f"{SVG}title")]
    assert "МИНЗДРАВ: в срок — 3 (75 %)" in titles
    assert "style=" not in svg  # the CSP forbids inline styles


def test_column_chart_and_empty_charts() -> None:
    root = parse(str(column_chart("По дням", [Bar("13.10", 2, "2"), Bar("14.10", 0, "0")])))
    assert [t.text for t in root.iter(f"{SVG}text")] == ["2", "13.10", "0", "14.10"]
    empty = parse(str(bar_chart("Пусто", [])))
    assert [t.text for t in empty.iter(f"{SVG}text")] == ["нет данных"]
