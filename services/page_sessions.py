"""Signed, expiring tokens for the pages people open in a browser (the journey page), so no API
key ever sits in a URL (browser history, proxy and access logs).

Two kinds, both `base64url(purpose|keyId|expiry).base64url(HMAC-SHA256)` under a server-side
secret (`PAGE_SESSION_SECRET`; unset: random per process, so sessions end when the API restarts,
and several API replicas need it set):

- `session`: made by POST /journeys/sign-in (the API key, once); lives `PAGE_SESSION_HOURS`
  (8); carried by the HttpOnly, SameSite=Strict cookie `journeys_session`.
- `link`: made by POST /v1/page-links (API key in the header); lives 5 minutes; carried by the
  `?token=` of a one-click sign-in link, traded for the cookie at once (303 to the bare URL).

Buttons on the pages (pause, resume) POST forms with the cookie; SameSite=Strict keeps other
sites' forms from carrying it, and each form also holds `csrf_token(session)`, an HMAC of the
session under the same secret that a page of another origin cannot read, checked with the
Origin (or Referer) header by api.routes.page_actions (docs/decisions.md D28).

A token names the API key's public id only: revoking the key ends its sessions and links.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import time

SESSION_COOKIE = "journeys_session"
LINK_SECONDS = 300


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode("ascii"))


class PageSigner:
    def __init__(self, secret: bytes) -> None:
        self.secret = secret

    def _mac(self, payload: bytes) -> bytes:
        return hmac.new(self.secret, payload, hashlib.sha256).digest()

    def sign(self, key_id: str, purpose: str, seconds: float, *, now: float | None = None) -> str:
        expiry = int((time.time() if now is None else now) + seconds)
        payload = f"{purpose}|{key_id}|{expiry}".encode()
        return f"{_b64(payload)}.{_b64(self._mac(payload))}"

    def csrf_token(self, session: str) -> str:
        """The form token of one session cookie: it changes with the session, so a token
        seen once (in a page's HTML) is worth nothing once that session ended."""
        return _b64(self._mac(b"csrf|" + session.encode()))

    def check_csrf(self, session: str, token: str) -> bool:
        return hmac.compare_digest(self.csrf_token(session).encode(), token.encode())

    def verify(self, token: str, purpose: str, *, now: float | None = None) -> str | None:
        """The API key id of a genuine, unexpired token of that purpose; None otherwise."""
        body, _, mac = token.partition(".")
        try:
            payload, signature = _unb64(body), _unb64(mac)
        except (binascii.Error, ValueError, UnicodeEncodeError):
            return None
        if not hmac.compare_digest(signature, self._mac(payload)):
            return None
        try:
            kind, key_id, expiry = payload.decode().split("|")
            expires = int(expiry)
        except ValueError:
            return None
        if kind != purpose or expires < (time.time() if now is None else now):
            return None
        return key_id
