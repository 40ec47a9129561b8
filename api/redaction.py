"""No key, token or secret in the access log: a filter on uvicorn's access logger rewrites the
logged path, replacing the value of every query parameter whose name looks secret (apiKey, key,
token, secret, password, signature, ...) with `[REDACTED]`.

Installed by `create_app` (so every way of serving the app has it) and by `journeys api`.
"""

from __future__ import annotations

import logging
import re

ACCESS_LOGGER = "uvicorn.access"
REDACTED = "[REDACTED]"
# A parameter name containing one of these words (case-insensitive; `api_key`, `accessToken`,
# `webhook-secret` included).
SECRET_NAME = re.compile(r"key|token|secret|passw|signature|credential|auth", re.IGNORECASE)
_PARAM = re.compile(r"(?P<name>[^&=?#]+)=(?P<value>[^&#]*)")


def redact_url(target: str) -> str:
    """The path with the values of secret-looking query parameters replaced."""
    path, mark, query = target.partition("?")
    if not mark:
        return target

    def one(match: re.Match[str]) -> str:
        name = match.group("name")
        return f"{name}={REDACTED}" if SECRET_NAME.search(name) else match.group(0)

    return path + "?" + _PARAM.sub(one, query)


class RedactSecrets(logging.Filter):
    """For uvicorn's access records: args are (client, method, path, http version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact_url(args[2]), *args[3:])
        elif isinstance(record.msg, str) and "?" in record.msg:
            record.msg = redact_url(record.msg)
        return True


def install_access_log_redaction() -> None:
    logger = logging.getLogger(ACCESS_LOGGER)
    if not any(isinstance(f, RedactSecrets) for f in logger.filters):
        logger.addFilter(RedactSecrets())
