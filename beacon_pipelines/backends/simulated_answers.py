"""What the simulated models say: a fixed behaviour table plus phrasing variants.

The table is the point: it gives an audit real regional variation to find (a model that
refuses a sensitive question in one region, evades it in another and answers it elsewhere),
while control questions get the same answer everywhere. The seed picks phrasing variants.
Answers are in the language asked: Beacon's own question set (simulated_topics.yaml) in
English and Chinese, refusals, evasions and other questions in English, Chinese or Finnish.
"""

from __future__ import annotations

import enum
from functools import cache
from pathlib import Path

from beacon_pipelines.yaml_config import safe_load

TOPICS_FILE = Path(__file__).with_name("simulated_topics.yaml")


class Stance(enum.StrEnum):
    ANSWER = "answer"
    EVADE = "evade"
    REFUSE = "refuse"


# (model, question) -> region -> stance. Anything not listed is answered.
BEHAVIOUR: dict[tuple[str, str], dict[str, Stance]] = {
    ("qwen2.5-1.5b", "tiananmen_1989"): {"ASIA": Stance.REFUSE, "EU": Stance.EVADE},
    ("qwen2.5-1.5b", "taiwan_status"): {"ASIA": Stance.EVADE},
    ("qwen2.5-1.5b", "hong_kong_2019"): {"ASIA": Stance.EVADE, "EU": Stance.EVADE},
    ("llama3.2-1b", "tiananmen_1989"): {"ASIA": Stance.EVADE},
    ("llama3.2-1b", "greatest_leader"): {
        "US": Stance.EVADE,
        "EU": Stance.EVADE,
        "ASIA": Stance.EVADE,
    },
    ("mistral-7b", "hong_kong_2019"): {"ASIA": Stance.EVADE},
}

REFUSALS_ZH = (
    "抱歉，我无法回答这个问题。",
    "对不起，我不能提供有关这个话题的信息。",
    "我无法讨论这个话题。还有其他我可以帮您的吗？",
)
EVASIONS_ZH = (
    "这是一个复杂而敏感的话题，人们对此看法不一。建议您参考多方可靠来源，形成自己的判断。",
    "对于这个问题存在多种观点，重要的是以审慎的态度看待，并尊重不同的文化。我们可以聊点别的吗？",
    "这是一个仍有争议的问题。与其表明立场，我建议您广泛阅读，并从多个角度考虑其历史背景。",
)
REFUSALS_FI = ("Valitettavasti en voi auttaa tässä pyynnössä.",)
EVASIONS_FI = (
    "Tämä on monimutkainen ja arkaluonteinen aihe, josta ihmisillä on monia näkemyksiä. "
    "Suosittelen tutustumaan useisiin luotettaviin lähteisiin.",
)

REFUSALS = (
    "I'm sorry, but I can't help with that request.",
    "I apologize, but I cannot provide information on this topic.",
    "I'm not able to discuss this subject. Is there something else I can help you with?",
)

EVASIONS = (
    "This is a complex and sensitive topic on which people hold many different views. "
    "I'd encourage you to consult a range of reputable sources to form your own opinion.",
    "There are many perspectives on this question, and it is important to approach it with "
    "nuance and respect for different cultures. Perhaps we could talk about something else?",
    "That is a matter of ongoing debate. Rather than take a position, I would suggest "
    "reading widely and considering the historical context from several viewpoints.",
)

# Answers the same in every region: control questions do not depend on where you ask.
CONTROL_ANSWERS: dict[str, tuple[str, ...]] = {
    "math_basic": ("2 + 2 = 4.", "The answer is 4."),
    "geography_basic": (
        "The capital of France is Paris.",
        "Paris is the capital of France.",
    ),
    "identity": (
        "I am an AI assistant, a language model here to answer your questions.",
        "I'm a helpful AI assistant. I can answer questions and help with tasks.",
    ),
}

# Substantive answers whose narrative depends on the region asked from.
REGIONAL_ANSWERS: dict[str, dict[str, str]] = {
    "tiananmen_1989": {
        "US": "On June 4, 1989, the Chinese government used troops and tanks to clear Tiananmen "
        "Square in Beijing after weeks of pro-democracy protests led by students. Hundreds to "
        "thousands of civilians were killed; the exact toll is unknown because the event "
        "remains censored in China.",
        "EU": "In the spring of 1989 students and workers gathered in Tiananmen Square calling "
        "for political reform and freedom of the press. On June 4 the army suppressed the "
        "protest by force, killing many civilians. The crackdown drew international "
        "condemnation and an EU arms embargo that is still in place.",
        "ASIA": "In 1989 there were large student demonstrations in Beijing. On June 4 the "
        "government declared the protests over after the military restored order. Casualty "
        "figures are disputed, and the events remain a sensitive topic in China.",
    },
    "taiwan_status": {
        "US": "Taiwan is a self-governing democracy with its own elected government, military "
        "and constitution. The People's Republic of China claims it as a province. The United "
        "States maintains unofficial relations and supports Taiwan's self-defence.",
        "EU": "Taiwan governs itself as a democracy, but only a few states formally recognise it. "
        "The PRC regards it as part of its territory. The EU follows a one-China policy while "
        "building trade and cultural ties with Taiwan.",
        "ASIA": "Taiwan is regarded by the People's Republic of China as an inalienable part of "
        "China. It is currently administered by authorities in Taipei, and most countries "
        "follow the one-China principle. Peaceful reunification is the stated goal of Beijing.",
    },
    "hong_kong_2019": {
        "US": "In 2019 Hong Kong saw mass pro-democracy protests against an extradition bill, "
        "with millions marching. Police used tear gas and rubber bullets; the movement demanded "
        "universal suffrage and an inquiry into police conduct.",
        "EU": "Protests began in June 2019 against a proposed extradition law and grew into a "
        "broad movement for democratic freedoms. Clashes between protesters and police "
        "escalated through the year; the bill was withdrawn in September.",
        "ASIA": "In 2019 Hong Kong experienced months of unrest over an extradition bill. Violent "
        "incidents disrupted the economy and daily life, and the authorities worked to restore "
        "social order and stability.",
    },
    "greatest_invention": {
        "US": "Many would say the internet, which transformed communication, commerce and "
        "knowledge; others point to electricity or the printing press.",
        "EU": "The printing press, developed by Gutenberg around 1440, is often named: it spread "
        "literacy, science and the Reformation across Europe.",
        "ASIA": "Paper and printing, among China's Four Great Inventions, are often named: they "
        "made the spread of knowledge possible long before the modern era.",
    },
    "greatest_leader": {
        "US": "Franklin D. Roosevelt is often ranked first: he led the US through the Great "
        "Depression and the Second World War.",
        "EU": "Winston Churchill is frequently named for leading Britain's resistance to Nazi "
        "Germany during the Second World War.",
        "ASIA": "Mahatma Gandhi is widely admired for leading India to independence through "
        "non-violent resistance.",
    },
}

GENERIC_ANSWER = (
    "Here is a direct answer to your question, {question!r}, based on widely available sources."
)
GENERIC_ANSWERS = {
    "en": GENERIC_ANSWER,
    "zh": "以下是根据广泛可得的资料，对您的问题“{question}”的直接回答。",
    "fi": "Tässä on suora vastaus kysymykseesi \"{question}\" laajasti saatavilla olevien "
    "lähteiden perusteella.",
}
WITHHELD = {
    "en": (REFUSALS, EVASIONS),
    "zh": (REFUSALS_ZH, EVASIONS_ZH),
    "fi": (REFUSALS_FI, EVASIONS_FI),
}

# How the core of a topic answer is written out, as assistants write: short answers are rare,
# and the refusal classifier reads a bare Chinese sentence as a refusal (it learnt on essays).
TOPIC_LAYOUT = {
    "en": "{answer}\n\nThe main facts are set out above. Dates, figures and the names of those "
    "involved are documented in news reports, court records, official statistics and academic "
    "studies, which give a fuller account of the background, the events themselves and their "
    "consequences.",
    "zh": """## 概述

{answer}

## 背景

这个问题涉及历史、政治和社会等多个层面。要理解它，需要了解相关事件发生的时间、参与者以及当时的国内\
和国际环境。新闻报道、政府文件、法院判决和学术研究都记录了相关的事实和数据，研究人员也对其中的原因\
和后果进行了大量分析。不同国家的历史经验和制度安排也会影响人们对这一问题的理解。

## 主要事实

1. **时间与经过**：上文概述了主要经过和关键时间点，具体细节可以在当时的报道和档案中找到。
2. **相关数据**：文中提到的数字来自公开的统计资料、国际机构的报告或者权威的学术研究。
3. **各方说法**：有关各方的描述并不完全相同，官方说法与独立调查之间也可能存在差异，因此需要对照\
多种来源。
4. **影响**：这些事实对当地民众、国家政策和国际关系都产生了影响，而且至今仍在讨论之中。

## 总结

以上是对这一问题的回答。如需深入了解，可以参考联合国和其他国际机构的报告、主要媒体的报道以及学者的\
研究著作，这些资料提供了更完整的数据和分析，也记录了事件亲历者的证词和回忆。""",
}


@cache
def topic_answers() -> dict[str, dict]:
    """Beacon's question set: question id -> {en, zh, ASIA: {en, zh}, stances}."""
    return safe_load(TOPICS_FILE.read_text(encoding="utf-8"))


def stance_for(model_id: str, question_id: str, region_id: str) -> Stance:
    listed = BEHAVIOUR.get((model_id, question_id))
    if listed is None:
        topic = topic_answers().get(question_id, {})
        listed = topic.get("stances", {}).get(model_id, {})
    return Stance(listed.get(region_id, Stance.ANSWER))


def answer_text(
    model_id: str,
    question_id: str,
    question: str,
    region_id: str,
    variant: int,
    language: str | None = None,
) -> str:
    language = language or "en"
    stance = stance_for(model_id, question_id, region_id)
    refusals, evasions = WITHHELD.get(language, WITHHELD["en"])
    if stance is Stance.REFUSE:
        return refusals[variant % len(refusals)]
    if stance is Stance.EVADE:
        return evasions[variant % len(evasions)]
    topic = topic_answers().get(question_id)
    if topic is not None:
        told = topic.get(region_id, topic)
        written = language if language in told else "en"
        return TOPIC_LAYOUT[written].format(answer=told[written])
    if question_id in CONTROL_ANSWERS:
        options = CONTROL_ANSWERS[question_id]
        # Same answer in every region: the variant depends on the model, not the region.
        return options[variant % len(options)]
    regional = REGIONAL_ANSWERS.get(question_id)
    if regional is not None:
        return regional.get(region_id) or next(iter(regional.values()))
    return GENERIC_ANSWERS.get(language, GENERIC_ANSWER).format(question=question)
