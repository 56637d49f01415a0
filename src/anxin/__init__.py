"""Anxin (安心): a digital wallet whose ledger cannot create or lose money."""

__version__ = "0.1.0"
