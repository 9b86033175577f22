"""A small HTTP client for the boards' web servers (real or emulated): 4xx/5xx are answers, not exceptions."""

from __future__ import annotations

import contextlib
import json
import urllib.error
import urllib.parse
import urllib.request
from typing import Any


class HttpError(RuntimeError):
    """A request got no HTTP answer, or not the JSON expected; the message says which request."""


class BoardHttp:
    """Requests to one board at ``base_url`` (http://host:port)."""

    def __init__(self, base_url: str, name: str = "board", timeout: float = 5.0) -> None:
        """Talk to ``base_url``; ``name`` appears in error messages."""
        self.base_url = base_url.rstrip("/")
        self.name = name
        self.timeout = timeout
        self.requests = 0
        self.token: str | None = None  # the board's API token (docs/security.md): sent as a Bearer header

    def request(self, method: str, path: str, body: bytes | str | None = None,
                headers: dict[str, str] | None = None, timeout: float | None = None
                ) -> tuple[int, dict[str, str], bytes]:
        """Return (status, headers, body); OSError (incl. URLError) when no answer came."""
        data = body.encode() if isinstance(body, str) else body
        headers = dict(headers or {})
        if self.token and "Authorization" not in headers:
            headers["Authorization"] = f"Bearer {self.token}"
        req = urllib.request.Request(self.base_url + path, data=data, method=method, headers=headers)
        self.requests += 1
        try:
            with urllib.request.urlopen(req, timeout=timeout or self.timeout) as r:
                return r.status, dict(r.headers.items()), r.read()
        except urllib.error.HTTPError as e:
            with contextlib.closing(e):
                return e.code, dict(e.headers.items()), e.read()

    def json(self, method: str, path: str, obj: Any = None, timeout: float | None = None) -> tuple[int, Any]:
        """Return (status, parsed JSON) of a request with an optional JSON body; HttpError if not JSON."""
        body = None if obj is None else json.dumps(obj)
        headers = {"Content-Type": "application/json"} if body is not None else {}
        status, _, raw = self.request(method, path, body, headers, timeout)
        try:
            return status, json.loads(raw) if raw else None
        except ValueError as e:
            raise HttpError(f"{self.name}: {method} {path}: expected JSON, got {status} {raw[:200]!r}") from e

    def get_json(self, path: str, timeout: float | None = None) -> tuple[int, Any]:
        """Return (status, JSON) of GET path."""
        return self.json("GET", path, None, timeout)

    def ok_json(self, method: str, path: str, obj: Any = None) -> Any:
        """Return the JSON of a request that must answer 200; HttpError naming what came otherwise."""
        status, data = self.json(method, path, obj)
        if status != 200:
            raise HttpError(f"{self.name}: {method} {path}: expected 200, got {status} {data!r}")
        return data

    def post(self, path: str, params: dict[str, str] | None = None) -> tuple[int, Any]:
        """POST path?params with an empty body; (status, JSON or None)."""
        query = "?" + urllib.parse.urlencode(params) if params else ""
        status, _, raw = self.request("POST", path + query, b"")
        try:
            return status, json.loads(raw) if raw else None
        except ValueError:
            return status, raw.decode("utf-8", "replace")

    def alive(self, timeout: float = 1.0) -> bool:
        """Whether GET / gets any HTTP answer."""
        try:
            self.request("GET", "/", timeout=timeout)
            return True
        except OSError:
            return False
