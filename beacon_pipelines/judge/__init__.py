"""An LLM judge of answers: substantive, refusal or evasion, as SpeechMap's judge classifies.

Nothing here knows Dagster: the prompt (prompt.py, prompts/), the reply's parsing (reply.py),
the clients (openai_judge.py, modal_judge.py, built by registry.py) and judging a set of
answers against the durable judgement store (judging.py, beacon_pipelines/judgement_store.py).
"""
