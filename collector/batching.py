"""Read the first wall page of up to 25 communities in one ``execute`` request."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from collector.errors import VkError
from collector.types import ExecuteCall, ExecuteResult, VkWallPage, parse_wall_page
from collector.vk_client import EXECUTE_MAX_CALLS

__all__ = ["ExecuteApi", "first_pages"]


@runtime_checkable
class ExecuteApi(Protocol):
    """Something that runs ``execute`` batches: :class:`VkClient` and :class:`VkClientPool`."""

    async def execute(self, calls: Sequence[ExecuteCall]) -> list[ExecuteResult]:
        """Run up to 25 calls in one request."""
        ...


async def first_pages(
    api: ExecuteApi, owner_ids: Sequence[int], *, count: int = 100
) -> dict[int, VkWallPage | VkError]:
    """Read offset 0 of many walls, 25 per request; each wall gets its page or its own error.

    One ``execute`` costs one request against the per-second limit instead of 25, while each
    inner ``wall.get`` still counts against the token's daily ``wall.get`` quota (as VK counts
    it). A wall that cannot be read (closed: 15, deleted: 18 ...) fails alone.

    Args:
        api: the client or pool.
        owner_ids: wall owners (negative for communities).
        count: page size, at most 100.

    Returns:
        owner id -> its first page, or the ``VkError`` its call failed with.

    Raises:
        VkError: a whole batch failed (network, auth, quota): the caller polls one by one.
    """
    out: dict[int, VkWallPage | VkError] = {}
    owners = list(dict.fromkeys(owner_ids))
    for start in range(0, len(owners), EXECUTE_MAX_CALLS):
        chunk = owners[start : start + EXECUTE_MAX_CALLS]
        calls = [
            ExecuteCall("wall.get", {"owner_id": owner, "offset": 0, "count": min(count, 100)})
            for owner in chunk
        ]
        for owner, result in zip(chunk, await api.execute(calls), strict=True):
            if result.error is not None:
                err = result.error
                out[owner] = err if isinstance(err, VkError) else VkError(str(err))
            elif isinstance(result.response, dict):
                out[owner] = parse_wall_page(result.response, owner_id=owner)
            else:
                out[owner] = VkError(f"wall.get {owner}: unexpected response in execute")
    return out
