"""The double-entry ledger: accounts, transfers, holds, reversals, the journal and its checks."""
