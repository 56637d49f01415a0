"""Demo data for `make run`: a few accounts, transfers and an API key to explore."""
