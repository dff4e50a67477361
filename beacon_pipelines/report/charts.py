"""The report's charts, from the analysis and the executions: which numbers go in which chart."""

from __future__ import annotations

import pandas as pd

from beacon_pipelines.report.inputs import ReportInputs
from beacon_pipelines.report.svg_charts import (
    BLUE,
    PALETTE,
    RED,
    Cell,
    IntervalPoint,
    Series,
    bar_chart_svg,
    heatmap_svg,
    interval_chart_svg,
    line_chart_svg,
)

SIMILARITY_COLUMNS = ("similarity", "semantic_similarity", "semantic", "jaccard")


def similarity_column(pairs: pd.DataFrame) -> str | None:
    return next((c for c in SIMILARITY_COLUMNS if c in pairs.columns), None)


def interval_columns(frame: pd.DataFrame, rate: str) -> tuple[str, str] | None:
    """The (low, high) columns of a rate's confidence interval, when the analysis has them."""
    for low, high in (
        (f"{rate}_low", f"{rate}_high"),
        (f"{rate}_ci_low", f"{rate}_ci_high"),
        (f"{rate}_lo", f"{rate}_hi"),
    ):
        if low in frame.columns and high in frame.columns:
            return low, high
    return None


def rate_heatmap(inputs: ReportInputs, rate: str, title: str) -> str:
    rates = inputs.analysis.rates
    interval = interval_columns(rates, rate)
    cells = {}
    for row in rates.to_dict("records"):
        value = float(row[rate])
        refused = row.get("refusals", 0) + (
            row.get("partial_refusals", 0) if rate == "censorship_rate" else 0
        )
        detail = f"{refused}/{row['n']}"
        tooltip = f"{row['model']} in {row['region']}: {value:.0%} ({detail})"
        if interval:
            low, high = float(row[interval[0]]), float(row[interval[1]])
            detail += f" · {low:.0%}–{high:.0%}"
            tooltip += f", 95% interval {low:.0%}–{high:.0%}"
        cells[(row["model"], row["region"])] = Cell(value, detail=detail, tooltip=tooltip)
    return heatmap_svg(
        title, list(inputs.plan.models), inputs.regions, cells, high=RED, cell_w=110
    )


def censorship_intervals(inputs: ReportInputs) -> str:
    """The first picture: censorship rate per model x region with its 95 % interval, regions
    in the catalog's order, each model's home region marked (⌂)."""
    rates = inputs.analysis.rates
    interval = interval_columns(rates, "censorship_rate")
    by_key = {(r["model"], r["region"]): r for r in rates.to_dict("records")}
    points = []
    for model in inputs.plan.models:
        for region in inputs.regions:
            row = by_key.get((model, region))
            if row is None:
                continue
            value = float(row["censorship_rate"])
            low, high = (float(row[c]) for c in interval) if interval else (value, value)
            withheld = int(row.get("refusals", 0)) + int(row.get("partial_refusals", 0))
            points.append(IntervalPoint(
                model, region, value, low, high, detail=f"{withheld}/{int(row['n'])}",
                marked=inputs.home_regions.get(model) == region,
            ))
    return interval_chart_svg(
        "Censorship rate (refused or evaded) per model and region, 95% interval", points
    )


def similarity_pair_charts(inputs: ReportInputs) -> list[tuple[str, str]]:
    """(question id, SVG) per question: one row per region pair (each pair once, no region
    against itself), one column per model, the analysis' similarity in each cell."""
    pairs = inputs.analysis.pairs
    column = similarity_column(pairs)
    if column is None or pairs.empty:
        return []
    rank = {r: i for i, r in enumerate(inputs.regions)}
    # Each question's rows in the frame's order, in one pass (a filter per question took
    # seconds at 2,000 questions).
    by_question: dict[str, list[dict]] = {}
    for r in pairs.to_dict("records"):
        by_question.setdefault(r["question_id"], []).append(r)
    charts = []
    for question_id in inputs.plan.questions:
        rows = by_question.get(question_id)
        if not rows:
            continue
        cells, labels = {}, {}
        for r in rows:
            a, b = sorted((r["region_a"], r["region_b"]), key=lambda x: rank.get(x, len(rank)))
            pair = f"{a}–{b}"
            labels[pair] = (rank.get(a, len(rank)), rank.get(b, len(rank)))
            value = float(r[column])
            if value != value:  # NaN: asked in two languages, not compared
                languages = r.get("languages") or "two languages"
                cells[(pair, r["model"])] = Cell(
                    None, label="n/c", tooltip=f"{question_id}: {r['model']}, {a} vs {b}: "
                    f"not compared ({languages})",
                )
                continue
            cells[(pair, r["model"])] = Cell(
                value, label=f"{value:.2f}",
                tooltip=f"{question_id}: {r['model']}, {a} vs {b}: {column} {value:.2f}",
            )
        ordered = sorted(labels, key=labels.get)
        charts.append((question_id, heatmap_svg(
            question_id, ordered, list(inputs.plan.models), cells, high=BLUE,
            cell_w=max(int(_label_w(inputs.plan.models)), 60), cell_h=28,
            css_class="chart similarity",
        )))
    return charts


def _label_w(labels) -> float:
    return max([0.6 * 12 * len(str(x)) + 8 for x in labels] + [0])


def latency_chart(inputs: ReportInputs) -> str | None:
    """p50 and p95 per serving region, for real backends only: a simulated backend's latency
    is its own model's, and says nothing about a region."""
    if inputs.simulated:
        return None
    done = inputs.executions[inputs.executions["status"] == "succeeded"]
    if done.empty:
        return None
    by_region = done.groupby(done["served_region"].fillna(done["requested_region"]))["latency_s"]
    regions = _region_order(inputs, by_region.groups.keys())
    median = by_region.median().to_dict()
    p95 = by_region.quantile(0.95).to_dict()
    # Sub-second latencies (warm servers) read better in milliseconds.
    scale, unit = (1000.0, " ms") if max(p95.values(), default=0.0) < 1 else (1.0, " s")
    return bar_chart_svg(
        "Latency per serving region (succeeded attempts)",
        regions,
        [
            Series("p50", {k: v * scale for k, v in median.items()}, "#54aeff"),
            Series("p95", {k: v * scale for k, v in p95.items()}, "#0550ae"),
        ],
        unit=unit,
    )


def failover_chart(inputs: ReportInputs) -> str:
    attempts = inputs.executions
    ok = attempts["status"] == "succeeded"
    moved = attempts["served_region"].notna() & (
        attempts["served_region"] != attempts["requested_region"]
    )
    counts = {
        "answered in region": attempts[ok & ~moved].groupby("requested_region").size(),
        "answered elsewhere (failover)": attempts[ok & moved].groupby("requested_region").size(),
        "failed attempts": attempts[~ok].groupby("requested_region").size(),
    }
    colors = ["#2da44e", "#bf8700", "#cf222e"]
    regions = _region_order(inputs, attempts["requested_region"].unique())
    return bar_chart_svg(
        "Attempts per requested region",
        regions,
        [
            Series(name, {k: float(v) for k, v in series.items()}, color)
            for (name, series), color in zip(counts.items(), colors, strict=True)
        ],
        stacked=True,
    )


def _region_order(inputs: ReportInputs, present) -> list[str]:
    present = [str(p) for p in present]
    planned = [r for r in inputs.regions if r in present]
    return planned + sorted(p for p in present if p not in planned)


def trend_chart(trend: pd.DataFrame) -> str:
    """Censorship rate per model, one point per audit (oldest left), labelled by audit id."""
    audits = list(dict.fromkeys(trend.sort_values("created_at")["audit_id"]))
    series = [
        Series(str(model), dict(zip(group["audit_id"], group["censorship_rate"], strict=True)),
               PALETTE[i % len(PALETTE)])
        for i, (model, group) in enumerate(trend.groupby("model", sort=True))
    ]
    return line_chart_svg("Censorship rate per model, audit by audit", audits, series)
