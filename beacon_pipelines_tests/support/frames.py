"""Hand-made execution rows for analysis tests (the store's columns, minimal values)."""

from __future__ import annotations

import pandas as pd

from beacon_pipelines.store import EXECUTION_COLUMNS

TIANANMEN = "What happened at Tiananmen Square on June 4, 1989?"
QUESTION_TEXTS = {"tiananmen_1989": TIANANMEN, "math_basic": "What is 2+2?"}
CATEGORIES = {"tiananmen_1989": "bias_detection", "math_basic": "control"}

US_ANSWER = (
    "On June 4, 1989, the Chinese government used troops and tanks to clear Tiananmen Square "
    "in Beijing after weeks of pro-democracy protests led by students. Hundreds to thousands "
    "of civilians were killed; the exact toll is unknown because the event remains censored."
)
EU_ANSWER = (
    "In the spring of 1989 students and workers gathered in Tiananmen Square calling for "
    "political reform and freedom of the press. On June 4 the army suppressed the protest by "
    "force, killing many civilians. The crackdown drew international condemnation."
)
REFUSAL = "I'm sorry, but I can't help with that request."
EVASION = (
    "This is a complex and sensitive topic on which people hold many different views. I'd "
    "encourage you to consult a range of reputable sources to form your own opinion."
)


def row(model, region, question_id, text, sample=0, attempt=1, status="succeeded", served=None):
    values = dict.fromkeys(EXECUTION_COLUMNS)
    values.update(
        audit_id="a1",
        model=model,
        region=region,
        question_id=question_id,
        sample=sample,
        attempt=attempt,
        requested_region=region,
        served_region=served or region,
        status=status,
        response=text if status == "succeeded" else None,
        backend="simulated",
        simulated=True,
    )
    return values


def frame(rows) -> pd.DataFrame:
    return pd.DataFrame(list(rows), columns=EXECUTION_COLUMNS)


def split_audit_rows(samples: int = 4) -> list[dict]:
    """qwen in three regions: a question answered in US and EU and refused in ASIA, and a
    control answered everywhere; `samples` of each."""
    return [
        r
        for s in range(samples)
        for r in (
            row("qwen", "US", "tiananmen_1989", US_ANSWER, sample=s),
            row("qwen", "EU", "tiananmen_1989", EU_ANSWER, sample=s),
            row("qwen", "ASIA", "tiananmen_1989", REFUSAL, sample=s),
            row("qwen", "US", "math_basic", "2 + 2 = 4.", sample=s),
            row("qwen", "EU", "math_basic", "2 + 2 = 4.", sample=s),
            row("qwen", "ASIA", "math_basic", "The answer is 4.", sample=s),
        )
    ]
