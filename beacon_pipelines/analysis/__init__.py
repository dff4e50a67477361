"""Pure analysis of an audit's executions: classes, rates, similarity. No Dagster here."""
