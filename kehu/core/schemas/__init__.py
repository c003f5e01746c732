"""Ninja schemas for core, one module per feature: input bodies (unknown fields
rejected) and outputs. Output schemas mask personal data."""
