"""Exchange credentials, read only from environment variables (or files they name).

A variable `NAME` holds the value itself; `NAME_FILE` may instead name a file holding it (the
Docker/systemd secrets convention). Values are kept as `SecretStr`: they never reach a repr,
a log, an exception message or the database.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pydantic import SecretStr


class MissingSecretError(Exception):
    """A credential variable is not set (the message names the variable, never a value)."""


@dataclass(frozen=True, slots=True)
class Credentials:
    api_key: SecretStr
    secret: SecretStr
    password: SecretStr | None = None

    def fingerprint(self) -> str:
        """A short, non-reversible tag identifying the key in logs and prompts."""
        digest = hashlib.sha256(self.api_key.get_secret_value().encode()).hexdigest()
        return f"key#{digest[:8]}"


def read_secret(name: str, env: Mapping[str, str]) -> SecretStr:
    value = env.get(name)
    if value:
        return SecretStr(value.strip())
    file_name = env.get(f"{name}_FILE")
    if file_name:
        path = Path(file_name)
        try:
            text = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise MissingSecretError(
                f"{name}_FILE names {path}, which cannot be read ({exc.strerror}); fix the path"
            ) from None
        if text:
            return SecretStr(text)
        raise MissingSecretError(f"{name}_FILE names {path}, which is empty; put the value in it")
    raise MissingSecretError(f"environment variable {name} is not set; export it (or {name}_FILE)")


def read_credentials(
    key_env: str, secret_env: str, password_env: str | None, env: Mapping[str, str]
) -> Credentials:
    return Credentials(
        api_key=read_secret(key_env, env),
        secret=read_secret(secret_env, env),
        password=read_secret(password_env, env) if password_env else None,
    )
