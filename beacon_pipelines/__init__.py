"""Beacon: audit LLMs for regional bias and censorship."""

__version__ = "0.1.0"
