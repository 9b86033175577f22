"""Talking to a board's HTTPS API v2 as a client on the LAN would: aiohttp with the certificate pinned by
the fingerprint the board's label (its console) shows, or the standard library's ssl."""

from __future__ import annotations

import asyncio
import hashlib
import json
import socket
import ssl
from typing import Any

import aiohttp

from hil.board_process import BoardProcess


def pin(fingerprint: str) -> aiohttp.Fingerprint:
    """aiohttp's certificate pin from the label's 'AB:CD:...' text (SHA-256 of the certificate)."""
    return aiohttp.Fingerprint(bytes.fromhex(fingerprint.replace(":", "")))


def v2(board: BoardProcess, method: str, path: str, token: str | None = None, body: Any = None,
       tls: ssl.SSLContext | aiohttp.Fingerprint | None = None,
       headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    """One request to the board's HTTPS port: (status, headers, parsed JSON or text).

    tls: how the client checks the server (default: the pin of the board's label fingerprint).
    """
    check = tls if tls is not None else pin(board.fingerprint())
    hdrs = dict(headers or {})
    if token is not None:
        hdrs["Authorization"] = f"Bearer {token}"

    async def go() -> tuple[int, dict[str, str], Any]:
        async with aiohttp.ClientSession() as s:
            async with s.request(method, f"https://127.0.0.1:{board.https_port}{path}", ssl=check,
                                 headers=hdrs, json=body, timeout=aiohttp.ClientTimeout(total=10)) as r:
                text = await r.text()
                try:
                    data: Any = json.loads(text) if text else None
                except ValueError:
                    data = text
                return r.status, dict(r.headers), data
    return asyncio.run(go())


def served_certificate(port: int) -> bytes:
    """The DER certificate the server at 127.0.0.1:port presents (no check: a client about to pin)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with socket.create_connection(("127.0.0.1", port), timeout=10) as raw, ctx.wrap_socket(raw) as s:
        der = s.getpeercert(binary_form=True)
    assert der is not None
    return der


def sha256_text(der: bytes) -> str:
    """'AB:CD:...' of SHA-256(der)."""
    return ":".join(f"{b:02X}" for b in hashlib.sha256(der).digest())
