"""The OK (Odnoklassniki) API emulator: signed ``fb.do`` calls over a synthetic region."""

from __future__ import annotations

from emulator.ok.server import DEMO_ACCESS_TOKEN, DEMO_APP_KEY, DEMO_APP_SECRET, OkEmulator
from emulator.ok.world import OkComment, OkGroup, OkTopic, OkWorld

__all__ = [
    "DEMO_ACCESS_TOKEN",
    "DEMO_APP_KEY",
    "DEMO_APP_SECRET",
    "OkComment",
    "OkEmulator",
    "OkGroup",
    "OkTopic",
    "OkWorld",
]
