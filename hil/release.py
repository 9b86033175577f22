"""`hil release`: sign an image with the release key only on a certification record that proves it.

The gate (:func:`check`) refuses unless every condition holds, and names each one that failed:

1. every record PASSed;
2. every record certified exactly this image: its ``metadata.image.sha256`` is the image's identity
   (SHA-256 of manifest sector + payload, unchanged by signing) and every board it installed the image
   on reported running that identity;
3. the required suites ran (each has a passing test) with nothing in them skipped, failed or errored;
4. the records together cover the required rigs;
5. the records were made from the image's source commit;
6. the image's security counter is not lower than the last release of that module (the ledger).

On success the image gets a Secure Boot v2 block by the release key, the release is appended to the
ledger, and an attestation (what was signed, on what evidence, by which key, when) is written beside it.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hil.image import sbv2
from hil.image.container import Image

REQUIRED_SUITES = ("test_suites/e2e", "test_suites/ota")
REQUIRED_RIGS = ("emulated",)


@dataclass(frozen=True)
class Policy:
    """What a release needs."""

    suites: tuple[str, ...] = REQUIRED_SUITES
    rigs: tuple[str, ...] = REQUIRED_RIGS
    same_commit: bool = True


@dataclass
class Verdict:
    """The gate's answer: the conditions that failed (none: release) and the evidence it looked at."""

    failures: list[str] = field(default_factory=list)
    evidence: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """Whether the image may be signed."""
        return not self.failures


def _suite_phases(record: dict[str, Any], suite: str) -> list[dict[str, Any]]:
    prefix = suite.rstrip("/") + "/"
    return [p for p in record.get("phases", []) if str(p.get("name", "")).startswith(prefix)]


def last_release(ledger: list[dict[str, Any]], module: str) -> dict[str, Any] | None:
    """Return the ledger entry of module with the highest security counter, or None."""
    mine = [e for e in ledger if e.get("module") == module]
    return max(mine, key=lambda e: e["security_counter"]) if mine else None


def check(image: Image, records: list[tuple[str, dict[str, Any]]], ledger: list[dict[str, Any]],
          policy: Policy = Policy()) -> Verdict:
    """Judge whether image may be released on these (name, record) pairs; see the module's docstring."""
    v = Verdict()
    m = image.manifest
    ident = image.identity
    if not records:
        v.failures.append("no certification record given: expected at least one --record")
    rigs: set[str] = set()
    module = m.module
    ran: dict[str, list[dict[str, Any]]] = {s: [] for s in policy.suites}
    for name, rec in records:
        meta = rec.get("metadata", {})
        img = meta.get("image", {})
        rig = meta.get("rig", {}).get("name")
        v.evidence.append({"record": name, "outcome": rec.get("outcome"), "counts": rec.get("counts"),
                           "rig": rig, "image_sha256": img.get("sha256"),
                           "boards_running": img.get("boards_running"),
                           "commit": meta.get("git", {}).get("commit"), "suites": meta.get("suites")})
        if rec.get("outcome") != "PASS":
            v.failures.append(f"{name}: outcome {rec.get('outcome')!r}, expected PASS")
        certified = [i.get("sha256") for i in img.get("images", [])] or [img.get("sha256")]
        if ident not in certified:
            v.failures.append(f"{name}: certified image {str(certified[0])[:16]}..., this image is "
                              f"{ident[:16]}...: the record is for other bytes")
        boards_module = img.get("boards_module") or {}
        running = {b: got for b, got in (img.get("boards_running") or {}).items()
                   if boards_module.get(b, module) == module}
        if not running:
            v.failures.append(f"{name}: no {module} board reported running the image (record not made "
                              "with `hil certify --image`, which installs it over the air)")
        for board, got in running.items():
            if got != ident:
                v.failures.append(f"{name}: board {board} ran {str(got)[:16]}..., not this image")
        if rig:
            rigs.add(rig)
        commit = meta.get("git", {}).get("commit")
        if policy.same_commit and commit != m.commit.hex() and m.commit != bytes(20):
            v.failures.append(f"{name}: made from commit {str(commit)[:12]}, the image from "
                              f"{m.commit.hex()[:12]}")
        for suite in policy.suites:
            ran[suite] += _suite_phases(rec, suite)
    for suite, phases in ran.items():
        if not any(p.get("outcome") == "PASS" for p in phases):
            v.failures.append(f"required suite {suite}: no passing test in the records")
        bad = [p["name"] for p in phases if p.get("outcome") != "PASS"]
        if bad:
            v.failures.append(f"required suite {suite}: {len(bad)} test(s) not passed (skipped, failed or "
                              f"errored), e.g. {bad[0]}")
    missing = [r for r in policy.rigs if r not in rigs]
    if missing:
        v.failures.append(f"required rigs not covered: {', '.join(missing)} (records cover "
                          f"{', '.join(sorted(rigs)) or 'none'})")
    last = last_release(ledger, m.module)
    if last is not None and m.counter < last["security_counter"]:
        v.failures.append(f"security counter {m.counter} is lower than the last {m.module} release's "
                          f"{last['security_counter']} ({last['version']})")
    return v


def read_ledger(path: Path) -> list[dict[str, Any]]:
    """Return the releases so far (JSON lines; none when the file does not exist)."""
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def release(image: Image, records: list[tuple[str, bytes]], key: Any, ledger_path: Path,
            policy: Policy = Policy()) -> tuple[Verdict, Image | None, dict[str, Any] | None]:
    """Run the gate; on success return the signed image and the attestation (and append the ledger)."""
    parsed = [(n, json.loads(raw)) for n, raw in records]
    ledger = read_ledger(ledger_path)
    verdict = check(image, parsed, ledger, policy)
    if not verdict.ok:
        return verdict, None, None
    signed = image.signed(key)
    m = image.manifest
    attestation = {
        "released": m.as_dict() | {"identity": image.identity},
        "signer_key_digest": sbv2.key_digest(key.public_key()).hex(),
        "time_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "policy": {"suites": list(policy.suites), "rigs": list(policy.rigs),
                   "same_commit": policy.same_commit},
        "evidence": [e | {"record_sha256": hashlib.sha256(raw).hexdigest()}
                     for e, (_, raw) in zip(verdict.evidence, records, strict=True)],
    }
    entry = {"module": m.module, "version": m.as_dict()["version"], "security_counter": m.counter,
             "identity": image.identity, "time_utc": attestation["time_utc"]}
    ledger_path.parent.mkdir(parents=True, exist_ok=True)
    with ledger_path.open("a", encoding="utf-8") as f:
        f.write(json.dumps(entry) + "\n")
    return verdict, signed, attestation
