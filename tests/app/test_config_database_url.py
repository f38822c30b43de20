"""A database URL of an unsupported backend is refused by the configuration, naming the key.

Before, ``config check`` said OK for ``mysql://`` or a misspelt ``sqlte:///`` and only ``run``
failed, without naming ``database.url``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from app.config import ConfigError, load_config

SHIPPED = Path(__file__).resolve().parent.parent.parent / "config.yaml"
LINE = "url: sqlite:///var/incident-management.db"


def with_url(tmp_path: Path, url: str) -> Path:
    text = SHIPPED.read_text(encoding="utf-8")
    assert LINE in text
    path = tmp_path / "config.yaml"
    path.write_text(text.replace(LINE, f'url: "{url}"'), encoding="utf-8")
    return path


@pytest.mark.parametrize("url", ["sqlte:///x.db", "mysql://im@db/im", "postgresql+asyncpg://h/d"])
def test_an_unsupported_backend_names_the_key(tmp_path: Path, url: str) -> None:
    with pytest.raises(ConfigError) as err:
        load_config(with_url(tmp_path, url), {})
    assert "database.url" in str(err.value)
    assert "unsupported database" in str(err.value)
    with pytest.raises(ConfigError, match=r"database\.url"):
        load_config(SHIPPED, {"IM_DATABASE_URL": url})


@pytest.mark.parametrize(
    "url", ["sqlite:///var/im.db", "postgresql://im@db/im", "postgresql+psycopg://im@db/im"]
)
def test_the_supported_backends_load(tmp_path: Path, url: str) -> None:
    config = load_config(with_url(tmp_path, url), {})
    assert config.database.url.split(":")[0] == url.split(":")[0]
