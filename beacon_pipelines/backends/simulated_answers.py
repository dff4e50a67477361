"""What the simulated models say: a fixed behaviour table plus phrasing variants.

The table is the point: it gives an audit real regional variation to find (a model that
refuses a sensitive question in one region, evades it in another and answers it elsewhere),
while control questions get the same answer everywhere. The seed picks phrasing variants.
"""

from __future__ import annotations

import enum


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


def stance_for(model_id: str, question_id: str, region_id: str) -> Stance:
    return BEHAVIOUR.get((model_id, question_id), {}).get(region_id, Stance.ANSWER)


def answer_text(
    model_id: str, question_id: str, question: str, region_id: str, variant: int
) -> str:
    stance = stance_for(model_id, question_id, region_id)
    if stance is Stance.REFUSE:
        return REFUSALS[variant % len(REFUSALS)]
    if stance is Stance.EVADE:
        return EVASIONS[variant % len(EVASIONS)]
    if question_id in CONTROL_ANSWERS:
        options = CONTROL_ANSWERS[question_id]
        # Same answer in every region: the variant depends on the model, not the region.
        return options[variant % len(options)]
    regional = REGIONAL_ANSWERS.get(question_id)
    if regional is not None:
        return regional.get(region_id) or next(iter(regional.values()))
    return GENERIC_ANSWER.format(question=question)
