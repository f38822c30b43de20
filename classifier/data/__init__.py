"""Data files shipped with the classifier package."""

from __future__ import annotations
