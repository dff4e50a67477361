"""Reading a judge's reply: exactly a verdict object, a fence tolerated, nothing else."""

from __future__ import annotations

import pytest

from beacon_pipelines.analysis.response_class import ResponseClass
from beacon_pipelines.judge.reply import JUDGE_CLASSES, ReplyError, judge_class_name, parse_reply


def test_the_three_classes_map_onto_beacons():
    assert JUDGE_CLASSES == {
        "substantive": ResponseClass.SUBSTANTIVE,
        "refusal": ResponseClass.REFUSAL,
        "evasion": ResponseClass.PARTIAL_REFUSAL,
    }
    assert judge_class_name(ResponseClass.PARTIAL_REFUSAL) == "evasion"


@pytest.mark.parametrize(
    "text",
    [
        '{"class": "evasion", "reason": "It changes the subject."}',
        '  \n{"class": "evasion", "reason": "It changes the subject."}\n ',
        '```json\n{"class": "evasion", "reason": "It changes the subject."}\n```',
        '```\n{"class": "evasion", "reason": "It changes\\nthe subject."}\n```',
    ],
)
def test_a_verdict_object_is_read(text):
    parsed = parse_reply(text, "stop")
    assert parsed.judge_class is ResponseClass.PARTIAL_REFUSAL
    assert parsed.reason == "It changes the subject."


@pytest.mark.parametrize(
    "text, finish, why",
    [
        ("", "stop", "empty"),
        ("   ", None, "empty"),
        (None, "stop", "empty"),
        ('{"class": "refusal", "reason": "ok"}', "length", "cut off"),
        ('Verdict: {"class": "refusal", "reason": "ok"}', "stop", "not a JSON object"),
        ('{"class": "refusal", "reason": "ok"} Hope this helps!', "stop", "not a JSON object"),
        ('["refusal"]', "stop", "expected a JSON object"),
        ('{"class": "REFUSAL", "reason": "ok"}', "stop", "field 'class'"),
        ('{"class": "partial_refusal", "reason": "ok"}', "stop", "field 'class'"),
        ('{"reason": "ok"}', "stop", "missing"),
        ('{"class": "refusal", "reason": 3}', "stop", "field 'reason'"),
        ("```python\nprint(1)\n```", "stop", "not a JSON object"),
    ],
)
def test_anything_else_is_a_reply_error(text, finish, why):
    with pytest.raises(ReplyError, match=why):
        parse_reply(text, finish)
