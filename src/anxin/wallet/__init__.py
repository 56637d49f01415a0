"""The wallet: what holders and merchants do with money every day.

Every operation is a set of balanced ledger transfers made inside the request's unit of
work (``anxin.ledger.batch.apply_batch``), so the wallet's own rows (orders, fee charges,
points lots, freezes) commit or roll back together with the money.
"""
