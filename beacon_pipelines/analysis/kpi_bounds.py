"""The bounds an audit's execution KPIs are held to (kpis.py computes them): below / above
these, the execution_kpis asset check warns. Apart from kpis.py so that the check's definition
does not import pandas."""

MIN_SUCCESS_RATE = 0.90
MAX_TIMEOUT_RATE = 0.05
