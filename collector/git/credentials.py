"""Git credentials for a configured repository: from an environment variable or Secrets Manager
(the one AWS call), parsed into (user, token). Never logged; errors name the setting, not the secret."""
from __future__ import annotations

import json
import os
from typing import Any

from config.git import GitRepoConfig, canonical, redact


class CredentialsError(Exception):
    pass


def resolve_credentials(config: GitRepoConfig, aws: Any = None) -> tuple[str, str] | None:
    """(user, token) from the environment or Secrets Manager; None for a repository without any."""
    secret: str | None = None
    if config.credentials_env:
        secret = os.environ.get(config.credentials_env)
        if not secret:
            raise CredentialsError(f"credentials for {redact(config.key_url)}: environment variable "
                                   f"{config.credentials_env} is not set")
    elif config.secret_arn:
        secret = fetch_secret(config, aws)
    if not secret:
        return None
    return _user_and_token(secret, config)


def fetch_secret(config: GitRepoConfig, aws: Any) -> str:
    if aws is None:
        raise CredentialsError(f"credentials for {redact(config.key_url)}: no AWS session for secret_arn")
    arn = config.secret_arn or ""
    region = arn.split(":")[3] if arn.startswith("arn:") and arn.count(":") >= 3 else None
    try:
        response = aws.client("secretsmanager", region or None).get_secret_value(SecretId=arn)
    except Exception as exc:
        code = getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__)
        raise CredentialsError(f"credentials for {redact(config.key_url)}: secret {arn} "
                               f"could not be read ({code})") from None
    return str(response.get("SecretString") or "")


def _user_and_token(secret: str, config: GitRepoConfig) -> tuple[str, str]:
    secret = secret.strip()
    if secret.startswith("{"):
        try:
            data = json.loads(secret)
            token = data.get("token") or data.get("password") or ""
            return str(data.get("username") or config.username or _default_user(config)), str(token)
        except ValueError:
            pass
    if ":" in secret and not config.username:
        user, _, token = secret.partition(":")
        return user, token
    return config.username or _default_user(config), secret


def _default_user(config: GitRepoConfig) -> str:
    return "oauth2" if "gitlab" in canonical(config.url) else "x-access-token"
