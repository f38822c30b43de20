"""Every configuration key and environment override is described in docs/config.md."""

from __future__ import annotations

import re
import types
import typing
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any, Union

import pytest
from pydantic import BaseModel, RootModel

from app.config import ENV_OVERRIDES, Config

DOCS = Path(__file__).resolve().parent.parent.parent / "docs" / "config.md"


def _unwrap(annotation: Any) -> Any:
    while True:
        origin = typing.get_origin(annotation)
        if origin is Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (Union, types.UnionType):
            annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
        else:
            return annotation


def key_paths(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    """Yield every key path of a model: sections, list items as [] and mapping entries as <name>."""
    for name, info in model.model_fields.items():
        path = f"{prefix}.{name}" if prefix else name
        yield path
        annotation = _unwrap(info.annotation)
        origin = typing.get_origin(annotation)
        if origin in (tuple, list):
            item, suffix = _unwrap(typing.get_args(annotation)[0]), "[]"
        elif origin is dict:
            item, suffix = _unwrap(typing.get_args(annotation)[1]), ".<name>"
        else:
            item, suffix = annotation, ""
        if (
            isinstance(item, type)
            and issubclass(item, BaseModel)
            and not issubclass(item, RootModel)
        ):
            yield from key_paths(item, path + suffix)
        elif suffix == ".<name>":
            yield path + suffix


ALL_KEYS = tuple(key_paths(Config))


def test_the_walk_finds_the_nested_keys() -> None:
    assert "executors[].notify.telegram_chat" in ALL_KEYS
    assert "networks.vk.requests_per_second.community" in ALL_KEYS
    assert "schedules.<name>" in ALL_KEYS
    assert len(ALL_KEYS) > 80


@pytest.mark.parametrize("key", ALL_KEYS)
def test_every_key_is_documented(key: str) -> None:
    assert f"`{key}`" in DOCS.read_text(encoding="utf-8"), f"{key} is not in docs/config.md"


def test_documented_keys_exist() -> None:
    rows = re.findall(r"^\| `([^`]+)` \|", DOCS.read_text(encoding="utf-8"), flags=re.MULTILINE)
    documented = {row for row in rows if re.fullmatch(r"[a-z][a-z_.<>\[\]]*", row)}
    assert documented, "no key tables found"
    assert documented <= set(ALL_KEYS), documented - set(ALL_KEYS)


@pytest.mark.parametrize("variable", sorted(ENV_OVERRIDES))
def test_every_environment_override_is_documented(variable: str) -> None:
    docs = DOCS.read_text(encoding="utf-8")
    key = ".".join(ENV_OVERRIDES[variable])
    assert f"| `{variable}` | `{key}`" in docs
