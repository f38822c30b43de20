"""The default topic rubricator (the Perm ЦУР taxonomy: 195 topics in 26 groups)."""

from __future__ import annotations
