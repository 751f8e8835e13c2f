"""A small HTTP client for a local Label Studio, authenticated as its docs describe.

Personal access tokens (legacy tokens are off for new organisations): a user signs in,
creates a token (Account & Settings > Personal Access Token, which posts ``/api/token/``),
and each API call carries a short-lived access token from ``/api/token/refresh/`` as
``Authorization: Bearer``. Standard library only: the project venv has no Label Studio SDK.
"""

from __future__ import annotations

import http.cookiejar
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


class StudioError(RuntimeError):
    """An API call that Label Studio refused."""


class Browser:
    """A cookie session, for the pages a person uses (sign up, sign in, create a token)."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def _csrf(self) -> str:
        return next(str(c.value) for c in self.jar if c.name == "csrftoken")

    def form(self, path: str, fields: dict[str, str]) -> str:
        """GET the page (for its CSRF cookie), POST the form; the page landed on."""
        self.opener.open(self.base + path).read()
        body = urllib.parse.urlencode({**fields, "csrfmiddlewaretoken": self._csrf()}).encode()
        request = urllib.request.Request(
            self.base + path, data=body, headers={"Referer": self.base + path}
        )
        with self.opener.open(request) as response:
            return str(response.url)

    def create_token(self) -> str:
        """A personal access token for the signed-in user."""
        request = urllib.request.Request(
            self.base + "/api/token/",
            data=b"{}",
            method="POST",
            headers={
                "Content-Type": "application/json",
                "X-CSRFToken": self._csrf(),
                "Referer": self.base + "/",
            },
        )
        with self.opener.open(request) as response:
            return str(json.loads(response.read())["token"])


def sign_in(base: str, email: str, password: str) -> Browser:
    browser = Browser(base)
    landed = browser.form("/user/login/", {"email": email, "password": password})
    if "/user/login" in landed:
        raise StudioError(f"could not sign in as {email}")
    return browser


def sign_up(base: str, invite_url: str, email: str, password: str) -> Browser:
    """A new member of the organisation through its invite link."""
    browser = Browser(base)
    landed = browser.form(invite_url, {"email": email, "password": password})
    if "/user/signup" in landed:
        raise StudioError(f"could not sign up {email}")
    return browser


class Client:
    """API calls as one user, with their personal access token."""

    def __init__(self, base: str, token: str) -> None:
        self.base, self.token = base, token
        self._access, self._since = "", 0.0

    def _bearer(self) -> str:
        if time.monotonic() - self._since > 120:  # access tokens are short-lived
            body = json.dumps({"refresh": self.token}).encode()
            request = urllib.request.Request(
                self.base + "/api/token/refresh/",
                data=body,
                method="POST",
                headers={"Content-Type": "application/json"},
            )
            with urllib.request.urlopen(request) as response:
                self._access = json.loads(response.read())["access"]
            self._since = time.monotonic()
        return self._access

    def call(self, method: str, path: str, body: Any = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={
                "Authorization": f"Bearer {self._bearer()}",
                "Content-Type": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=120) as response:
                raw = response.read()
        except urllib.error.HTTPError as exc:
            raise StudioError(f"{method} {path}: {exc.code} {exc.read()[:500]!r}") from None
        return json.loads(raw) if raw else None


def invite_path(client: Client) -> str:
    url = str(client.call("GET", "/api/invite")["invite_url"])
    if not re.match(r"^/user/signup/?\?token=\w+$", url):
        raise StudioError(f"unexpected invite link {url!r}")
    return url
