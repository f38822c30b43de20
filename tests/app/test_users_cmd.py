"""``users add/passwd/disable/list/token``: passwords from stdin, hashed; tokens hashed."""

from __future__ import annotations

import hashlib
import io
import shutil
from pathlib import Path

import pytest
import sqlalchemy as sa

from app.cli import main
from storage.db import create_engine_for
from storage.models import ApiToken, User

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "Секретный-пароль-42"


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The shipped config.yaml in a temp dir, its database migrated."""
    target = tmp_path / "config.yaml"
    shutil.copy(ROOT / "config.yaml", target)
    for name in ("IM_DATABASE_URL", "IM_CONFIG", "IM_OPERATOR_PASSWORD"):
        monkeypatch.delenv(name, raising=False)
    assert main(["--config", str(target), "db", "upgrade"]) == 0
    return target


def run(
    config: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    *args: str,
    stdin: str = "",
) -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    capsys.readouterr()
    code = main(["--config", str(config), "users", *args])
    out, err = capsys.readouterr()
    return code, out, err


def stored(config: Path, login: str) -> tuple[str | None, bool]:
    engine = create_engine_for(f"sqlite:///{config.parent / 'var' / 'incident-management.db'}")
    try:
        with engine.connect() as conn:
            row = conn.execute(
                sa.select(User.password_hash, User.active).where(User.login == login)
            ).one()
    finally:
        engine.dispose()
    return row[0], bool(row[1])


def test_add_passwd_list_disable(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(
        config,
        capsys,
        monkeypatch,
        "add",
        "ivanova",
        "--role",
        "executor",
        "--executor",
        "minzdrav",
        "--name",
        "Иванова Мария",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert code == 0, out
    assert "ivanova" in out
    digest, active = stored(config, "ivanova")
    assert digest is not None
    assert digest.startswith("$argon2id$")
    assert PASSWORD not in digest
    assert active
    code, out, _ = run(config, capsys, monkeypatch, "list")
    assert code == 0
    line = next(x for x in out.splitlines() if x.startswith("ivanova"))
    assert "executor=minzdrav" in line
    assert "password set" in line
    assert "Иванова Мария" in line
    assert PASSWORD not in out
    code, _, _ = run(
        config,
        capsys,
        monkeypatch,
        "passwd",
        "ivanova",
        "--password-stdin",
        stdin="Другой-пароль-7\n",
    )
    assert code == 0
    assert stored(config, "ivanova")[0] != digest
    code, _, _ = run(config, capsys, monkeypatch, "disable", "ivanova")
    assert code == 0
    assert stored(config, "ivanova")[1] is False


def test_bad_requests_are_one_line_errors(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    args = ("add", "petrov", "--role", "executor", "--password-stdin")
    code, _, err = run(config, capsys, monkeypatch, *args, stdin=PASSWORD + "\n")
    assert code == 1
    assert "--executor is required" in err
    assert len(err.splitlines()) == 1
    code, _, err = run(
        config,
        capsys,
        monkeypatch,
        "add",
        "petrov",
        "--role",
        "operator",
        "--password-stdin",
        stdin="short\n",
    )
    assert code == 1
    assert "at least 8 characters" in err
    assert "short" not in err
    code, _, err = run(config, capsys, monkeypatch, "disable", "nobody")
    assert code == 1
    assert "no user 'nobody'" in err
    code, _, err = run(
        config,
        capsys,
        monkeypatch,
        "add",
        "operator",
        "--role",
        "operator",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert code == 1
    assert "already exists" in err


def test_token_is_printed_once_and_stored_hashed_then_revoked(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, _ = run(config, capsys, monkeypatch, "token", "operator")
    assert code == 0
    token = out.strip()
    assert token.startswith("imt_")
    assert len(token) > 40
    engine = create_engine_for(f"sqlite:///{config.parent / 'var' / 'incident-management.db'}")
    try:
        with engine.connect() as conn:
            hashes = list(conn.execute(sa.select(ApiToken.token_hash, ApiToken.revoked_at)))
        assert hashes == [(hashlib.sha256(token.encode()).hexdigest(), None)]
        code, out, _ = run(config, capsys, monkeypatch, "token", "operator", "--revoke")
        assert code == 0
        assert out.strip() == "1 token(s) of operator revoked"
        with engine.connect() as conn:
            revoked = conn.execute(sa.select(ApiToken.revoked_at)).scalar_one()
        assert revoked is not None
    finally:
        engine.dispose()


def test_config_passwords_come_from_the_environment(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("IM_OPERATOR_PASSWORD", "Из-окружения-123")
    code, out, _ = run(config, capsys, monkeypatch, "list")
    assert code == 0
    line = next(x for x in out.splitlines() if x.startswith("operator"))
    assert "password set" in line
    digest, _ = stored(config, "operator")
    assert digest is not None
    assert "Из-окружения-123" not in digest
    supervisor = next(x for x in out.splitlines() if x.startswith("supervisor"))
    assert "no password" in supervisor


def test_a_configured_password_reaches_an_account_made_without_one_but_never_overwrites(
    config: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    assert run(config, capsys, monkeypatch, "list")[0] == 0  # accounts made, no passwords
    assert stored(config, "operator")[0] is None
    monkeypatch.setenv("IM_OPERATOR_PASSWORD", "Из-окружения-123")
    assert run(config, capsys, monkeypatch, "list")[0] == 0
    first = stored(config, "operator")[0]
    assert first is not None
    code, _, _ = run(
        config,
        capsys,
        monkeypatch,
        "passwd",
        "operator",
        "--password-stdin",
        stdin="Свой-пароль-99\n",
    )
    assert code == 0
    changed = stored(config, "operator")[0]
    monkeypatch.setenv("IM_OPERATOR_PASSWORD", "Другое-из-окружения")
    assert run(config, capsys, monkeypatch, "list")[0] == 0
    assert stored(config, "operator")[0] == changed != first
