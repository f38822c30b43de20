"""The configuration parsed by libyaml reads as the pure-Python loader reads it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from app import config as config_module

ROOT = Path(__file__).resolve().parents[2]

TEXTS = [
    (ROOT / "config.yaml").read_text(encoding="utf-8"),
    "region:\n  code: kirov\n  name: Кировская область 😀\nlist: [1, 2.5, 'три', null, true]\n",
    "a: &base {x: 1}\nb:\n  <<: *base\n  y: 2\nwhen: 2026-12-04\n",
    "",
]


@pytest.mark.parametrize("text", TEXTS, ids=["shipped", "unicode", "anchors", "empty"])
def test_the_fast_loader_reads_what_the_pure_python_one_reads(text: str) -> None:
    expected = yaml.load(text, Loader=config_module._DuplicateKeyLoader)  # noqa: S506
    assert config_module._parse_yaml(text) == expected


def test_libyaml_is_used_when_present() -> None:
    if not yaml.__with_libyaml__:
        pytest.skip("PyYAML without libyaml here")
    assert issubclass(config_module._FastLoader, yaml.CSafeLoader)


@pytest.mark.parametrize(
    "text",
    ["region: kirov\nregion: perm\n", "a: [1, 2\n", "a: b: c\n", "\tkey: value\n"],
    ids=["duplicate", "unclosed", "nested", "tab"],
)
def test_a_refused_file_raises_what_the_pure_python_loader_raises(text: str) -> None:
    with pytest.raises(yaml.YAMLError) as theirs:
        yaml.load(text, Loader=config_module._DuplicateKeyLoader)  # noqa: S506
    with pytest.raises(yaml.YAMLError) as ours:
        config_module._parse_yaml(text)
    assert str(ours.value) == str(theirs.value)
    assert type(ours.value) is type(theirs.value)
