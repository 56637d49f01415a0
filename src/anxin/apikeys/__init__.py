"""Operator API keys with scopes."""
