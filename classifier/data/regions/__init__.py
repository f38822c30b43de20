"""Region reference data: one JSON file per region, built by tools/build_regions.py."""

from __future__ import annotations
