"""The comparison of two audits as files: comparison.html (self-contained, every string
escaped, as report.html) and comparison.csv (one row per shared model x region x question)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pandas as pd

from beacon_pipelines.analysis.audit_comparison import AuditComparison
from beacon_pipelines.report.exports import write_files
from beacon_pipelines.report.page_parts import page, table_html
from beacon_pipelines.report.safe_text import escape

COMPARISON_FILES = ("comparison.html", "comparison.csv")


def _listing(label: str, what: dict[str, list[str]]) -> str:
    items = [f"{kind}: {', '.join(ids)}" for kind, ids in what.items() if ids]
    return f"<li>{escape(label)}: {escape('; '.join(items) or 'nothing')}</li>"


def _interval(rate, low, high) -> str:
    return "n/a" if pd.isna(rate) else f"{rate:.0%} ({low:.0%}–{high:.0%})"


def render_comparison(comparison: AuditComparison, beacon_version: str) -> str:
    c, rows = comparison, comparison.rows
    a, b = escape(c.audit_a), escape(c.audit_b)
    shown = rows.assign(
        censorship_a=[_interval(*v) for v in zip(
            rows["censorship_rate_a"], rows["censorship_low_a"], rows["censorship_high_a"],
            strict=True)],
        censorship_b=[_interval(*v) for v in zip(
            rows["censorship_rate_b"], rows["censorship_low_b"], rows["censorship_high_b"],
            strict=True)],
    )
    columns = ["model", "region", "question_id", "class_a", "class_b", "class_changed",
               "censorship_a", "censorship_b", "censorship_change", "significant",
               "similarity_a", "similarity_b", "similarity_change"]
    changed = shown[shown["class_changed"] | shown["significant"]]
    notes = []
    if c.reworded:
        notes.append("<li>Same id, other text (asked differently, not compared): "
                     f"{escape(', '.join(c.reworded))}</li>")
    if c.matched_by_id_only:
        notes.append("<li>Matched by id only (an audit did not record its question texts): "
                     f"{escape(', '.join(c.matched_by_id_only))}</li>")
    body = [
        f"<h1>Beacon comparison <code>{a}</code> → <code>{b}</code></h1>",
        f"<p class='muted'>Beacon {escape(beacon_version)} · A = {a}, B = {b}. A change of "
        "censorship rate is <b>significant</b> when the two 95% Wilson intervals do not "
        "overlap.</p>",
        "<div class='facts'>"
        f"<div class='fact'>compared rows <b>{len(rows)}</b></div>"
        f"<div class='fact'>class changes <b>{int(rows['class_changed'].sum())}</b></div>"
        f"<div class='fact'>significant censorship changes <b>{int(rows['significant'].sum())}"
        "</b></div></div>",
        "<h2 id='shared'>What is compared</h2><ul>",
        _listing("shared", c.shared),
        _listing(f"only in {c.audit_a}", c.only_in_a),
        _listing(f"only in {c.audit_b}", c.only_in_b),
        *notes,
        "</ul>",
        "<h2 id='changes'>Changes</h2>",
        table_html(changed, columns) if len(changed) else "<p>No class changed and no "
        "censorship rate changed significantly.</p>",
        "<h2 id='all'>Every model × region × question</h2>",
        "<details><summary>all rows</summary>", table_html(shown, columns), "</details>",
    ]
    # The shared frame: the same style and a CSP that allows no script and no remote load.
    return page(f"Beacon comparison {c.audit_a} → {c.audit_b}", body)


def write_comparison(
    comparison: AuditComparison, out_dir: Path, beacon_version: str
) -> dict[str, Path]:
    html = render_comparison(comparison, beacon_version)
    writers: dict[str, Callable[[Path], None]] = {
        "comparison.html": lambda p: p.write_text(html, encoding="utf-8"),
        "comparison.csv": lambda p: comparison.rows.to_csv(p, index=False),
    }
    return write_files(out_dir, writers)
