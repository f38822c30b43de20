"""A region's gazetteer kept built on disk, so that a command starts without building it.

Building a gazetteer from its JSON (``Gazetteer.load``) takes about a quarter of a CPU-second;
unpickling the built one takes a sixth of that. The file is named after a SHA-256 of what
the index is built from: the region's JSON, the code that builds it and defines what it holds
(``gazetteer.py``, ``regions.py`` and the text cleaning it reads names through), the Python
version and this cache's own format. A changed source gives another name, so a stale file is
never read; it is deleted when its successor is written. A cache that cannot be written (a
read-only directory) or read (a truncated file) costs a build, never the answer.
"""

from __future__ import annotations

import gc
import hashlib
import os
import pickle
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from classifier import gazetteer as _gazetteer
from classifier import regions as _regions
from classifier import text as _text
from classifier.gazetteer import (
    Gazetteer,
    UnknownGazetteerError,
    available_gazetteers,
)

__all__ = ["CACHE_FORMAT", "cache_path", "load_cached_gazetteer", "source_digest"]

#: Raised when what the cache file holds changes in a way the sources' hash does not show.
CACHE_FORMAT = 1
_DATA_PACKAGE = "classifier.data.gazetteer"


def _region_json(region: str) -> bytes:
    if region not in available_gazetteers():
        raise UnknownGazetteerError(
            f"no gazetteer for region {region!r}; available: {', '.join(available_gazetteers())}"
        )
    return resources.files(_DATA_PACKAGE).joinpath(f"{region}.json").read_bytes()


def _code_files() -> tuple[Path, ...]:
    return tuple(Path(module.__file__ or "") for module in (_gazetteer, _regions, _text))


def source_digest(data: bytes, code_files: tuple[Path, ...] | None = None) -> str:
    """Return the hex SHA-256 of a gazetteer's JSON ``data`` with everything its index reads."""
    digest = hashlib.sha256()
    digest.update(f"format {CACHE_FORMAT}; python {sys.version_info[:2]}\n".encode())
    for path in _code_files() if code_files is None else code_files:
        digest.update(path.name.encode() + b"\n" + path.read_bytes() + b"\n")
    digest.update(data)
    return digest.hexdigest()


def cache_path(cache_dir: Path, region: str, digest: str) -> Path:
    """Return the cache file of a region's gazetteer built from sources of ``digest``."""
    return cache_dir / f"{region}-{digest[:24]}.pickle"


def _read(path: Path) -> Gazetteer | None:
    try:
        blob = path.read_bytes()
    except OSError:
        return None
    enabled = gc.isenabled()
    gc.disable()  # ~20 000 small tuples: the collector's passes would double the load time
    try:
        loaded: Any = pickle.loads(blob)  # noqa: S301 - our own file, named by its sources' hash
    except Exception:  # a damaged file of any kind is rebuilt
        return None
    finally:
        if enabled:
            gc.enable()
    return loaded if isinstance(loaded, Gazetteer) else None


def _write(path: Path, built: Gazetteer) -> None:
    """Write the cache file atomically and drop the region's older ones; give up quietly."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        partial.write_bytes(pickle.dumps(built, protocol=pickle.HIGHEST_PROTOCOL))
        partial.replace(path)
        region = path.name.rsplit("-", 1)[0]
        for old in path.parent.glob(f"{region}-*.pickle"):
            if old != path:
                old.unlink(missing_ok=True)
    except OSError:
        return


def load_cached_gazetteer(
    region: str, cache_dir: Path | None, *, morph: Any | None = None
) -> Gazetteer:
    """Return a region's gazetteer, from ``cache_dir`` when built there from the same sources.

    Otherwise it is built (``Gazetteer.load``) and written there for the next start.
    ``cache_dir=None`` builds it without caching.

    Raises:
        UnknownGazetteerError: when no gazetteer is shipped for ``region``.
        CorruptGazetteerError: when the shipped data cannot be read.
    """
    if cache_dir is None:
        return Gazetteer.load(region, morph=morph)
    path = cache_path(cache_dir, region, source_digest(_region_json(region)))
    cached = _read(path)
    if cached is not None:
        cached.share_morph(morph)
        return cached
    built = Gazetteer.load(region, morph=None)
    _write(path, built)
    built.share_morph(morph)
    return built
