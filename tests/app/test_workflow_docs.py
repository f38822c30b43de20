"""Check that docs/workflow.md shows the transition and permission tables the code uses."""

from __future__ import annotations

import re
from pathlib import Path

from app.permissions import permission_table_markdown
from app.workflow import transition_table_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "workflow.md"


def block(name: str) -> str:
    """Return the text between the doc's begin and end markers of ``name``."""
    match = re.search(
        rf"<!-- {name}:begin -->\n(.*?)\n<!-- {name}:end -->", DOC.read_text(encoding="utf-8"), re.S
    )
    assert match, f"docs/workflow.md has no {name} block"
    return match.group(1)


def test_transition_table_is_documented() -> None:
    assert block("transitions") == transition_table_markdown()


def test_permission_table_is_documented() -> None:
    assert block("permissions") == permission_table_markdown()
