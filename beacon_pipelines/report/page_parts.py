"""What every page of a report folder shares: its style, its frame (a Content-Security-Policy
that allows no script and no remote load), tables, class and risk badges.

Every string that did not come from Beacon's code goes through `escape` here or in the caller.
"""

from __future__ import annotations

import time

import pandas as pd

from beacon_pipelines.analysis.risk import label
from beacon_pipelines.report.headline import risk_level
from beacon_pipelines.report.safe_text import bounded, escape

MAX_TABLE_CELL_CHARS = 300
CLASS_LABELS = {
    "substantive": "substantive",
    "refusal": "refusal",
    "partial_refusal": "partial",
    "technical_failure": "failure",
}
CSP = (
    "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
    "style-src 'unsafe-inline'; img-src data:\">"
)

_CSS = """
:root{--ink:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#f6f8fa}
*{box-sizing:border-box}
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:var(--ink)}
main{max-width:1280px;margin:0 auto;padding:1.5rem 2rem 4rem}
h1{font-size:1.7rem;margin:.2rem 0} h2{margin-top:2.4rem;border-bottom:1px solid var(--line);
padding-bottom:.3rem} h3{margin:2rem 0 .2rem} h4{margin:1.1rem 0 .4rem;font-size:1rem}
.muted{color:var(--muted)} .note{color:var(--muted);font-size:.85em;font-style:italic}
nav a{margin-right:1rem;color:#0969da}
.banner{background:#fff8c5;border:2px solid #d4a72c;padding:.7rem 1rem;font-weight:700;
margin:1rem 0;border-radius:6px;letter-spacing:.02em}
.facts{display:flex;flex-wrap:wrap;gap:.6rem;margin:1rem 0}
.fact{border:1px solid var(--line);border-radius:6px;padding:.5rem .9rem;background:var(--soft)}
.fact b{display:block;font-size:1.25rem}
.risk{font-weight:700;padding:.1rem .55rem;border-radius:4px;color:#fff;background:#59636e}
.risk-LOW{background:#1a7f37} .risk-MEDIUM{background:#9a6700} .risk-HIGH{background:#bc4c00}
.risk-CRITICAL{background:#a40e26}
.risk-INSUFFICIENT_EVIDENCE{background:#eaeef2;color:#424a53;border:1px dashed #8c959f}
a.risklink{text-decoration:none}
.findings li{margin:.25rem 0}
.charts{display:flex;flex-wrap:wrap;gap:1.5rem 2.5rem;align-items:flex-start}
.smalls{display:flex;flex-wrap:wrap;gap:1rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.88em}
th,td{border:1px solid var(--line);padding:.3rem .55rem;vertical-align:top;text-align:left}
th{background:var(--soft)} .wide{overflow-x:auto} td:first-child{white-space:nowrap}
summary{cursor:pointer;color:#0969da}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.cls{display:inline-block;padding:0 .45rem;border-radius:1rem;font-size:.8em;font-weight:600;
border:1px solid transparent}
.substantive{background:#dafbe1;border-color:#aceebb;color:#116329}
.refusal{background:#ffebe9;border-color:#ffcecb;color:#a40e26}
.partial_refusal{background:#fff8c5;border-color:#f5e0a0;color:#7d4e00}
.technical_failure{background:#eaeef2;border-color:#d1d9e0;color:#424a53}
.question{border-top:3px solid var(--line);margin-top:2.2rem}
.qtext{font-size:1.05rem;margin:.2rem 0 .6rem}
.answers{display:grid;gap:.7rem;margin-bottom:.6rem}
.card{border:1px solid var(--line);border-radius:6px;overflow:hidden;min-width:0}
.card header{background:var(--soft);padding:.35rem .6rem;display:flex;flex-wrap:wrap;
gap:.4rem;align-items:center;border-bottom:1px solid var(--line)}
.card .region{font-weight:700}
.home{font-size:.75em;color:var(--muted);border:1px solid var(--line);border-radius:1rem;
padding:0 .4rem;background:#fff}
.flag{font-size:.78em;font-weight:600;color:#7d4e00;background:#fff1c2;border-radius:1rem;
padding:0 .45rem}
.text{white-space:pre-wrap;overflow-wrap:anywhere;padding:.5rem .65rem;max-height:22rem;
overflow:auto;font-size:.9em;margin:0}
.meta{font-size:.75em;color:var(--muted);padding:.2rem .65rem .4rem;overflow-wrap:anywhere}
ins{background:#ccffd8;text-decoration:none} del{background:#ffd7d5;color:#82071e}
.error{color:#a40e26}
.why{font-size:.75em;color:var(--muted);overflow-wrap:anywhere}
.reviewed{font-size:.75em;font-weight:600;color:#0550ae;background:#ddf4ff;border-radius:1rem;
padding:0 .45rem;overflow-wrap:anywhere}
.legend span{margin-right:1rem}
.diffs{margin:-.2rem 0 .5rem;font-size:.88em;color:#7d4e00}
"""


def page(title: str, body: list[str]) -> str:
    """A whole page: no script, no network, no external font."""
    return "\n".join(
        [
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
            CSP,
            "<meta name='viewport' content='width=device-width,initial-scale=1'>",
            f"<title>{escape(title)}</title><style>{_CSS}</style></head>",
            "<body><main>",
            *body,
            "</main></body></html>",
        ]
    )


def date(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch or 0))


def _cell(value: object, float_format: str = "{:.2f}") -> str:
    if isinstance(value, bool):
        return escape("yes" if value else "no")
    if isinstance(value, float):
        return "" if pd.isna(value) else escape(float_format.format(value))
    text, cut = bounded(value, MAX_TABLE_CELL_CHARS)
    return escape(text) + ("…" if cut else "")


def table_html(frame: pd.DataFrame, columns: list[str] | None = None,
               html_columns: frozenset[str] = frozenset()) -> str:
    """A table of `frame`; values of `html_columns` are markup the caller built (and escaped)."""
    columns = [c for c in (columns or list(frame.columns)) if c in frame.columns]
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = []
    # A table repeats its text (regions, question ids): each distinct text is escaped once.
    texts: dict[str, str] = {}
    for row in frame[columns].itertuples(index=False):
        cells = []
        for name, value in zip(columns, row, strict=True):
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            if name in html_columns:
                content = str(value)
            elif type(value) is str:
                content = texts.get(value)
                if content is None:
                    content = texts[value] = _cell(value)
            else:
                content = _cell(value)
            cells.append(f"<td class='num'>{content}</td>" if numeric else f"<td>{content}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f"<div class='wide'><table><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def badge(response_class: object) -> str:
    cls = str(response_class)
    text = CLASS_LABELS.get(cls, cls)
    return f"<span class='cls {escape(cls)}'>{escape(text)}</span>"


def risk_badge(value: object, href: str | None = None, title: str = "") -> str:
    """A risk level as a badge; with `href`, a link to the answers behind it."""
    level = risk_level(value)
    if level is None:
        return ""
    tip = f" title='{escape(title)}'" if title else ""
    inner = f"<span class='risk risk-{level}'{tip}>{escape(label(level))}</span>"
    return f"<a class='risklink' href='{escape(href)}'>{inner}</a>" if href else inner


def model_page_name(model: str) -> str:
    """The file of a model's answers, in the report folder: answers-<model>.html, with any
    character a file name should not hold replaced."""
    safe = "".join(c if c.isalnum() or c in "._-" else "_" for c in str(model))
    return f"answers-{safe}.html"


def question_anchor(question_id: str) -> str:
    return "q-" + "".join(c if c.isalnum() or c in "._-" else "_" for c in str(question_id))
