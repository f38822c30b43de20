"""Server-rendered SVG charts for the dashboards: no JavaScript, no external resources.

Every chart is readable without colour: each bar carries its label and its value as text, the
parts of a stacked bar differ by pattern as well as by shade and are named in a legend, and
every element has a ``<title>`` (a tooltip, read by screen readers). Every bar may link to the
queue filtered to what it counts. All text is escaped (it may come from the networks); only
presentation attributes are used, no ``style`` (the Content-Security-Policy forbids inline
styles).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass

from markupsafe import Markup, escape

__all__ = ["Bar", "Part", "StackedBar", "bar_chart", "column_chart", "stacked_chart"]

_ROW = 26
_LABEL_W = 230
_BAR_W = 360
_VALUE_W = 110
_LEGEND_W = 190
_FONT = 'font-family="sans-serif" font-size="13"'

#: Fills of a stacked bar's parts, each with its own pattern (defined in every stacked chart).
_PATTERNS = (
    ("solid", '<rect width="8" height="8" fill="#2e7d32"/>'),
    (
        "hatch",
        '<rect width="8" height="8" fill="#ffcdd2"/>'
        '<path d="M0,8 L8,0 M-2,2 L2,-2 M6,10 L10,6" stroke="#b71c1c" stroke-width="2"/>',
    ),
    (
        "cross",
        '<rect width="8" height="8" fill="#fff3e0"/>'
        '<path d="M0,0 L8,8 M8,0 L0,8" stroke="#e65100" stroke-width="1.5"/>',
    ),
    (
        "dots",
        '<rect width="8" height="8" fill="#eeeeee"/><circle cx="4" cy="4" r="1.6" fill="#616161"/>',
    ),
)


@dataclass(frozen=True, slots=True)
class Bar:
    """One bar: its label, its value, the value as text, and the queue it stands for."""

    label: str
    value: float
    text: str
    href: str | None = None


@dataclass(frozen=True, slots=True)
class Part:
    """One part of a stacked bar."""

    name: str
    value: int
    href: str | None = None


@dataclass(frozen=True, slots=True)
class StackedBar:
    """A bar split into parts (e.g. on time, late, not yet due)."""

    label: str
    parts: tuple[Part, ...]


def _e(value: object) -> str:
    return str(escape(str(value)))


def _clip(text: str, limit: int = 32) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _linked(inner: str, href: str | None) -> str:
    if not href:
        return inner
    return f'<a href="{_e(href)}">{inner}</a>'


def _svg(title: str, width: int, height: int, body: str) -> Markup:
    # Every piece of text in ``body`` went through _e (escape) when it was put together.
    return Markup(  # noqa: S704
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" {_FONT}>'
        f"<title>{_e(title)}</title>{body}</svg>"
    )


def _empty(title: str) -> Markup:
    return _svg(title, _LABEL_W + _BAR_W, _ROW, f'<text x="0" y="17">{_e("нет данных")}</text>')


def bar_chart(title: str, bars: Sequence[Bar]) -> Markup:
    """Horizontal bars, one per row: label, bar, value as text; each a link when given."""
    if not bars:
        return _empty(title)
    top = max((b.value for b in bars), default=0) or 1
    rows = []
    for i, bar in enumerate(bars):
        y = i * _ROW
        length = max(0.0, bar.value) / top * _BAR_W
        tip = f"{bar.label}: {bar.text}"
        inner = (
            f"<title>{_e(tip)}</title>"
            f'<text x="0" y="{y + 17}">{_e(_clip(bar.label))}</text>'
            f'<rect x="{_LABEL_W}" y="{y + 4}" width="{length:.1f}" height="{_ROW - 8}" '
            f'fill="#1565c0"/>'
            f'<text x="{_LABEL_W + _BAR_W + 6}" y="{y + 17}">{_e(bar.text)}</text>'
        )
        rows.append(_linked(f'<g class="bar">{inner}</g>', bar.href))
    width = _LABEL_W + _BAR_W + _VALUE_W
    return _svg(title, width, len(bars) * _ROW, "".join(rows))


def stacked_chart(title: str, bars: Sequence[StackedBar], legend: Sequence[str]) -> Markup:
    """Horizontal 100 % bars split into parts told apart by pattern, with a text legend."""
    if not bars:
        return _empty(title)
    ids = [f"p{zlib.crc32(title.encode()):x}-{name}" for name, _ in _PATTERNS]
    defs = "".join(
        f'<pattern id="{pid}" width="8" height="8" patternUnits="userSpaceOnUse">{shape}</pattern>'
        for pid, (_, shape) in zip(ids, _PATTERNS, strict=True)
    )
    pieces = [f"<defs>{defs}</defs>"]
    for i, name in enumerate(legend):
        fill = f"url(#{ids[i % len(ids)]})"
        pieces.append(
            f'<rect x="{i * _LEGEND_W}" y="4" width="16" height="16" fill="{fill}" '
            f'stroke="#333"/><text x="{i * _LEGEND_W + 22}" y="17">{_e(name)}</text>'
        )
    for row, bar in enumerate(bars):
        y = (row + 1) * _ROW + 6
        total = sum(p.value for p in bar.parts)
        pieces.append(f'<text x="0" y="{y + 17}">{_e(_clip(bar.label))}</text>')
        left = float(_LABEL_W)
        for k, part in enumerate(bar.parts):
            share = 0.0 if total == 0 else part.value / total
            width = share * _BAR_W
            tip = f"{bar.label}: {part.name} — {part.value} ({round(share * 100)} %)"
            inner = (
                f"<title>{_e(tip)}</title>"
                f'<rect x="{left:.1f}" y="{y + 4}" width="{width:.1f}" height="{_ROW - 8}" '
                f'fill="url(#{ids[k % len(ids)]})" stroke="#333" stroke-width="0.5"/>'
            )
            pieces.append(_linked(f'<g class="part">{inner}</g>', part.href))
            left += width
        figures = " / ".join(str(p.value) for p in bar.parts)
        pieces.append(f'<text x="{_LABEL_W + _BAR_W + 6}" y="{y + 17}">{_e(figures)}</text>')
    height = (len(bars) + 1) * _ROW + 10
    width = max(_LABEL_W + _BAR_W + _VALUE_W + 40, len(legend) * _LEGEND_W)
    return _svg(title, width, height, "".join(pieces))


def column_chart(title: str, bars: Sequence[Bar]) -> Markup:
    """Vertical columns over time (one per day): the value above, the label below."""
    if not bars:
        return _empty(title)
    height, base = 160, 130
    step = max(14, min(48, 900 // len(bars)))
    top = max((b.value for b in bars), default=0) or 1
    pieces = []
    for i, bar in enumerate(bars):
        x = i * step
        tall = max(0.0, bar.value) / top * (base - 20)
        inner = (
            f"<title>{_e(f'{bar.label}: {bar.text}')}</title>"
            f'<rect x="{x + 2}" y="{base - tall:.1f}" width="{step - 4}" height="{tall:.1f}" '
            f'fill="#1565c0"/>'
            f'<text x="{x + step / 2:.1f}" y="{base - tall - 4:.1f}" text-anchor="middle" '
            f'font-size="11">{_e(bar.text)}</text>'
        )
        if step >= 30 or i % max(1, 30 // step) == 0:
            inner += (
                f'<text x="{x + step / 2:.1f}" y="{base + 16}" text-anchor="middle" '
                f'font-size="11">{_e(bar.label)}</text>'
            )
        pieces.append(_linked(f'<g class="bar">{inner}</g>', bar.href))
    return _svg(title, max(step * len(bars), 200), height, "".join(pieces))
