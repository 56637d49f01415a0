"""Which keyring this process uses, and refusing to run without a real one.

In development a keyring is generated on first use in ANXIN_HOME (marked as such). Outside
development the server refuses to start when no key is configured, or when the configured
one is a generated development keyring: production data must never be protected by a key
that was lying around in a laptop's data directory.
"""

from __future__ import annotations

from anxin.kit.errors import AnxinError
from anxin.privacy.keyring import Keyring, LocalKms, generate_keyring, load_keyring, write_keyring
from anxin.privacy.vault import Vault
from anxin.settings import Settings


class InsecureKeyConfiguration(AnxinError):
    status = 500
    code = "insecure_key_configuration"
    title = "Encryption keys are missing or unsafe"


def resolve_keyring(settings: Settings) -> Keyring:
    path = settings.resolved_key_file
    keyring = load_keyring(path, settings.kek, settings.blind_index_key)
    if keyring is None:
        if not settings.is_development:
            raise InsecureKeyConfiguration(
                f"no encryption key: create one with `anxin keys init` (writes {path}) "
                "or set ANXIN_KEK and ANXIN_BLIND_INDEX_KEY"
            )
        keyring = generate_keyring(development=True)
        write_keyring(path, keyring)
    if keyring.development and not settings.is_development:
        raise InsecureKeyConfiguration(
            f"{keyring.source} is a generated development keyring; outside development "
            "create a real one with `anxin keys init --production`"
        )
    return keyring


class KeyService:
    """What a process needs to encrypt personal data: one KMS, a new Vault per unit of work."""

    def __init__(self, keyring: Keyring) -> None:
        self.keyring = keyring
        self.kms = LocalKms(keyring)

    def vault(self) -> Vault:
        return Vault(self.kms, self.keyring.blind_index_key)
