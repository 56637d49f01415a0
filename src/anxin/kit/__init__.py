"""Small shared pieces every domain package uses: errors, database, clock, ids."""
