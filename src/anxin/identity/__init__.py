"""Identity: wallet holders and staff, their passwords, second factors, sessions and
contacts, with personal data encrypted at rest (see docs/identity.md)."""
