"""A small static HTML report of a certification record (when the allure command line is not installed).

Each test shows its title (the docstring's first line from the allure results, else its name in words),
its node id in small print, its measurements with value and limits rounded to what the measurement
resolves, and its plots inline (PNG data in the page: one file, readable anywhere).
"""

from __future__ import annotations

import base64
import html
import math
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

COLORS = {"PASS": "#1a7f37", "FAIL": "#cf222e", "ERROR": "#bc4c00", "SKIPPED": "#6e7781",
          "MARGINAL": "#9a6700"}
STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px;color:#1f2328}
h1 span{padding:.1em .5em;border-radius:.3em;color:#fff}
table{border-collapse:collapse;margin:.5em 0 1.5em 0;width:100%}
td,th{border:1px solid #d0d7de;padding:.3em .6em;text-align:left;vertical-align:top;font-size:.9em}
th{background:#f6f8fa} .o{font-weight:bold}
pre{background:#f6f8fa;padding:.6em;overflow-x:auto;font-size:.8em}
details{margin:.3em 0} small{color:#6e7781} figure{margin:.5em 0} img{max-width:100%}
"""


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v))


def _badge(outcome: str) -> str:
    return f'<span class="o" style="color:{COLORS.get(outcome, "#000")}">{_e(outcome)}</span>'


def decimals(m: dict[str, Any]) -> int:
    """Return the decimals a measurement resolves.

    Its value's own (311.3 -> 1, 2673.0 -> 0), or for a computed value with a long tail
    (0.30000000000000004) three significant digits of the largest of value and limits.
    """
    v = m.get("measured_value")
    if isinstance(v, (int, float)) and math.isfinite(v):
        text = repr(float(v))
        if "e" not in text:
            frac = text.split(".")[1].rstrip("0")
            if len(frac) <= 4:
                return len(frac)
    sizes = [abs(x) for x in (v, m.get("low"), m.get("high")) if isinstance(x, (int, float)) and x]
    if not sizes or not all(math.isfinite(x) for x in sizes):
        return 3
    return max(0, min(6, 2 - math.floor(math.log10(max(sizes)))))


def fmt(x: Any, places: int) -> str:
    """Return x with exactly `places` decimals, rounded half away from zero."""
    if not isinstance(x, (int, float)) or isinstance(x, bool):
        return _e(x)
    if not math.isfinite(x):
        return str(x)
    q = Decimal(1).scaleb(-places)
    text = str(Decimal(repr(float(x))).quantize(q, rounding=ROUND_HALF_UP))
    return "0" + text[2:] if text.startswith("-0") and not any(c in "123456789" for c in text) else text


def _limits(m: dict[str, Any]) -> str:
    lo, hi, u = m.get("low"), m.get("high"), _e(m.get("units") or "")
    d = decimals(m)
    if lo is not None and hi is not None:
        return f"{fmt(lo, d)} .. {fmt(hi, d)} {u}"
    if lo is not None:
        return f"&ge; {fmt(lo, d)} {u}"
    if hi is not None:
        return f"&le; {fmt(hi, d)} {u}"
    return "no limits"


def title_of(nodeid: str) -> str:
    """'dir/test_e2e_x.py::test_plug_follows_meter[a]' -> 'Plug follows meter [a]'."""
    name = nodeid.split("::")[-1]
    params = ""
    m = re.fullmatch(r"(.*?)(\[.*\])", name)
    if m:
        name, params = m.group(1), " " + m.group(2)
    words = name.removeprefix("test_").replace("_", " ").strip()
    return (words[:1].upper() + words[1:] if words else nodeid) + params


def _images(images: list[tuple[str, bytes]]) -> str:
    return "".join(
        f"<figure><img alt='{_e(name)}' src='data:image/png;base64,{base64.b64encode(png).decode()}'>"
        f"<figcaption>{_e(name)}</figcaption></figure>" for name, png in images)


def render(record: dict[str, Any], extras: dict[str, dict[str, Any]] | None = None) -> str:
    """Return the HTML page of a record (see :mod:`hil.fixtures.record` and :mod:`hil.certify.run`).

    extras: {nodeid: {"title", "images"}} from the allure results (:mod:`hil.certify.allure_read`).
    """
    extras = extras or {}
    outcome = record.get("outcome", "ERROR")
    meta = record.get("metadata", {})
    rows = []
    for key, label in (("rig", "rig"), ("image", "firmware image"), ("git", "git"), ("station", "station")):
        value = meta.get(key)
        if isinstance(value, dict):
            value = ", ".join(f"{k}: {v}" for k, v in value.items())
        rows.append(f"<tr><th>{_e(label)}</th><td><code>{_e(value)}</code></td></tr>")
    tools = meta.get("tools", {})
    tool_text = ", ".join(f"{_e(k)} {_e(v)}" for k, v in tools.items())
    rows.append(f"<tr><th>tools</th><td>{tool_text}</td></tr>")
    counts = ", ".join(f"{_e(k)}: {v}" for k, v in sorted(record.get("counts", {}).items()))
    bad = record.get("failed_measurements") or []
    failed = "; failed measurements: " + _e(", ".join(bad)) if bad else ""
    phases = []
    for p in record.get("phases", []):
        ms = "".join(
            f"<tr><td>{_e(m['name'])}</td><td>{fmt(m['measured_value'], decimals(m))} {_e(m.get('units'))}"
            f"</td><td>{_limits(m)}</td><td>{_badge(m['outcome'])}</td><td>{_e(m.get('docs'))}</td></tr>"
            for m in p.get("measurements", []))
        more = extras.get(p["name"], {})
        steps = "".join(f"<li>{_e(s.get('title'))} ({_e(s.get('seconds'))} s, {_e(s.get('outcome'))})</li>"
                        for s in p.get("steps", []))
        extra = ""
        if ms:
            extra += ("<table><tr><th>measurement</th><th>value</th><th>limits</th><th>outcome</th>"
                      f"<th>notes</th></tr>{ms}</table>")
        if steps:
            extra += f"<details><summary>steps</summary><ol>{steps}</ol></details>"
        if p.get("failure"):
            extra += f"<details open><summary>failure</summary><pre>{_e(p['failure'])}</pre></details>"
        if p.get("skip_reason"):
            extra += f"<p>skipped: {_e(p['skip_reason'])}</p>"
        if more.get("images"):
            extra += _images(more["images"])
        title = more.get("title") or title_of(p["name"])
        phases.append(f"<tr><td><b>{_e(title)}</b><br><small><code>{_e(p['name'])}</code></small>{extra}</td>"
                      f"<td>{_badge(p['outcome'])}</td><td>{p.get('duration_s', 0):.1f} s</td></tr>")
    return (
        "<!doctype html><html><head><meta charset='utf-8'><title>bChain certification "
        f"{_e(outcome)}</title><style>{STYLE}</style></head><body>"
        f"<h1>Certification <span style='background:{COLORS.get(outcome, '#000')}'>{_e(outcome)}</span></h1>"
        f"<p>{counts}; {record.get('measurement_count', 0)} measurements"
        f"{failed}</p>"
        f"<table>{''.join(rows)}</table>"
        f"<h2>Tests</h2><table><tr><th>test</th><th>outcome</th><th>time</th></tr>{''.join(phases)}</table>"
        "</body></html>"
    )
