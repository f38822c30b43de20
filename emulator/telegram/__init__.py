"""The Telegram emulator: public channels' web preview pages, ``/s/<channel>``."""

from __future__ import annotations

from emulator.telegram.server import TelegramEmulator, TgChannel, TgFault, TgMessage

__all__ = ["TelegramEmulator", "TgChannel", "TgFault", "TgMessage"]
