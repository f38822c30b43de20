"""The JSON API under /api/v1/ (for integrations and tests): see docs/api.md."""

from __future__ import annotations

from web.api.views import OPERATIONS, add_routes, csrf_exempt

__all__ = ["OPERATIONS", "add_routes", "csrf_exempt"]
