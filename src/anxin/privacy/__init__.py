"""Personal data protection: envelope encryption, blind indexes, key management."""
