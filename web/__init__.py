"""The aiohttp application: operator and executor screens, the JSON API, health."""

from __future__ import annotations

from web.app import create_app

__all__ = ["create_app"]
