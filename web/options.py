"""The queue form's long option lists, rendered once and kept (the page's main template cost).

The filter form lists every source, municipality, topic and executor: about 600 escaped
``<option>`` elements on every queue view, two thirds of the page's rendering time in
bench/profile_web_request.py. The lists change only when the filter choices do (kept 60 s by
app/queries.py), so each (list, selected value) is rendered once; what comes out is the same
markup the template wrote.
"""

from __future__ import annotations

import functools
from collections.abc import Hashable

from markupsafe import Markup, escape

__all__ = ["select_options", "topic_options"]

Rows = tuple[tuple[Hashable, ...], ...]


@functools.lru_cache(maxsize=512)
def select_options(
    rows: Rows, selected: Hashable, value: int = 0, label: int = 1, *, bare: bool = False
) -> Markup:
    """Return ``<option>`` elements for rows (value and label by index), marking ``selected``.

    ``bare``: options without a value attribute (the label is the value).
    """
    parts = []
    for row in rows:
        mark = "selected" if row[value] == selected else ""
        text = escape(row[label])
        if bare:
            parts.append(f"<option {mark}>{text}</option>")
        else:
            parts.append(f'<option value="{escape(row[value])}" {mark}>{text}</option>')
    return Markup("".join(parts))  # noqa: S704 - every value and label is escaped above


@functools.lru_cache(maxsize=256)
def topic_options(groups: tuple[tuple[str, tuple[str, ...]], ...], selected: str | None) -> Markup:
    """Return the topics as ``<optgroup>``s by group, marking the ``selected`` topic."""
    parts = []
    for group, topics in groups:
        inner = "".join(
            f"<option {'selected' if topic == selected else ''}>{escape(topic)}</option>"
            for topic in topics
        )
        parts.append(f'<optgroup label="{escape(group)}">{inner}</optgroup>')
    return Markup("".join(parts))  # noqa: S704 - every group and topic is escaped above
