"""Placeholder replaced by its author: checks on a model and its data."""

CHECKS: tuple = ()
