"""A small static HTML report of a certification record (when the allure command line is not installed)."""

from __future__ import annotations

import html
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
details{margin:.3em 0}
"""


def _e(v: Any) -> str:
    return html.escape("" if v is None else str(v))


def _badge(outcome: str) -> str:
    return f'<span class="o" style="color:{COLORS.get(outcome, "#000")}">{_e(outcome)}</span>'


def _limits(m: dict[str, Any]) -> str:
    lo, hi, u = m.get("low"), m.get("high"), m.get("units") or ""
    if lo is not None and hi is not None:
        return f"{lo:g} .. {hi:g} {u}"
    if lo is not None:
        return f"&ge; {lo:g} {u}"
    if hi is not None:
        return f"&le; {hi:g} {u}"
    return "no limits"


def render(record: dict[str, Any]) -> str:
    """Return the HTML page of a record (see :mod:`hil.fixtures.record` and :mod:`hil.certify.run`)."""
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
            f"<tr><td>{_e(m['name'])}</td><td>{m['measured_value']:g} {_e(m.get('units'))}</td>"
            f"<td>{_limits(m)}</td><td>{_badge(m['outcome'])}</td><td>{_e(m.get('docs'))}</td></tr>"
            for m in p.get("measurements", []))
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
        phases.append(f"<tr><td>{_e(p['name'])}{extra}</td><td>{_badge(p['outcome'])}</td>"
                      f"<td>{p.get('duration_s', 0):.1f} s</td></tr>")
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
