"""Dagster assets: thin glue from resources to domain code, with rich metadata."""
