"""The VK API emulator: a synthetic region served with VK's shapes, limits and errors."""

from __future__ import annotations

from emulator.vk.activity import ActivityModel, Published
from emulator.vk.clock import FakeClock
from emulator.vk.errors import ERROR_MESSAGES, VkApiError
from emulator.vk.faults import Fault, FaultRates
from emulator.vk.limits import DEFAULT_QUOTAS, RATE_LIMITS, QuotaPolicy, TokenSpec, TokenStats
from emulator.vk.server import EMULATOR_KEY, VkEmulator, default_tokens
from emulator.vk.world import RegionSpec, TruthComment, TruthPost, World

__all__ = [
    "DEFAULT_QUOTAS",
    "EMULATOR_KEY",
    "ERROR_MESSAGES",
    "RATE_LIMITS",
    "ActivityModel",
    "FakeClock",
    "Fault",
    "FaultRates",
    "Published",
    "QuotaPolicy",
    "RegionSpec",
    "TokenSpec",
    "TokenStats",
    "TruthComment",
    "TruthPost",
    "VkApiError",
    "VkEmulator",
    "World",
    "default_tokens",
]
