"""A software WebAuthn authenticator (and the browser around it) for tests.

It makes EC P-256 (ES256) credentials with 'none' attestation and answers
``navigator.credentials.create()`` / ``get()`` options with the JSON a browser would send.
Every part a relying party checks can be bent for negative tests: the origin and RP id it
claims, the user-presence/verification flags, and the sign count.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field
from typing import Any

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

FLAG_UP = 0x01  # user present
FLAG_UV = 0x04  # user verified
FLAG_AT = 0x40  # attested credential data included

# COSE (RFC 9052/9053): key type EC2, algorithm ES256, curve P-256.
COSE_KTY, COSE_ALG, COSE_CRV, COSE_X, COSE_Y = 1, 3, -1, -2, -3
KTY_EC2, ALG_ES256, CRV_P256 = 2, -7, 1


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64url(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def cose_key(public_key: ec.EllipticCurvePublicKey) -> bytes:
    numbers = public_key.public_numbers()
    return cbor2.dumps({
        COSE_KTY: KTY_EC2, COSE_ALG: ALG_ES256, COSE_CRV: CRV_P256,
        COSE_X: numbers.x.to_bytes(32, "big"), COSE_Y: numbers.y.to_bytes(32, "big"),
    })  # fmt: skip


@dataclass
class Credential:
    credential_id: bytes
    private_key: ec.EllipticCurvePrivateKey
    rp_id: str
    user_handle: bytes
    sign_count: int = 0


@dataclass
class SoftAuthenticator:
    origin: str = "http://localhost:8000"
    rp_id: str = "localhost"
    aaguid: bytes = bytes(16)
    credentials: dict[bytes, Credential] = field(default_factory=dict)

    def _client_data(self, kind: str, challenge: str, origin: str | None) -> bytes:
        return json.dumps({
            "type": kind, "challenge": challenge, "origin": origin or self.origin,
            "crossOrigin": False,
        }).encode()  # fmt: skip

    def create(
        self, options: dict[str, Any], *, origin: str | None = None, rp_id: str | None = None,
        user_verified: bool = True, user_present: bool = True, reuse: bytes | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """What ``navigator.credentials.create(options)`` resolves to, as JSON.

        ``reuse`` registers an existing credential again (a relying party must refuse).
        """
        rp = rp_id or options["rp"]["id"]
        if reuse is not None:
            key, credential_id = self.credentials[reuse].private_key, reuse
        else:
            key, credential_id = ec.generate_private_key(ec.SECP256R1()), secrets.token_bytes(16)
        user_handle = unb64url(options["user"]["id"])
        self.credentials[credential_id] = Credential(credential_id, key, rp, user_handle)
        flags = FLAG_AT | (FLAG_UP if user_present else 0) | (FLAG_UV if user_verified else 0)
        attested = (
            self.aaguid + struct.pack(">H", len(credential_id)) + credential_id
            + cose_key(key.public_key())
        )  # fmt: skip
        auth_data = (
            hashlib.sha256(rp.encode()).digest() + bytes([flags]) + struct.pack(">I", 0) + attested
        )
        attestation = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options["challenge"], origin)
        return {
            "id": b64url(credential_id),
            "rawId": b64url(credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "attestationObject": b64url(attestation),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def get(
        self, options: dict[str, Any], *, origin: str | None = None, rp_id: str | None = None,
        user_verified: bool = True, user_present: bool = True,
        credential_id: bytes | None = None, sign_count: int | None = None,
    ) -> dict[str, Any]:  # fmt: skip
        """What ``navigator.credentials.get(options)`` resolves to, as JSON.

        The sign count goes up by one per assertion unless ``sign_count`` forces a value
        (a clone replaying an old state).
        """
        credential = self._pick(options, credential_id)
        credential.sign_count = sign_count if sign_count is not None else credential.sign_count + 1
        rp = rp_id or options.get("rpId") or credential.rp_id
        flags = (FLAG_UP if user_present else 0) | (FLAG_UV if user_verified else 0)
        auth_data = (
            hashlib.sha256(rp.encode()).digest() + bytes([flags])
            + struct.pack(">I", credential.sign_count)
        )  # fmt: skip
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = credential.private_key.sign(
            auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256())
        )
        return {
            "id": b64url(credential.credential_id),
            "rawId": b64url(credential.credential_id),
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url(client_data),
                "authenticatorData": b64url(auth_data),
                "signature": b64url(signature),
                "userHandle": b64url(credential.user_handle),
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def _pick(self, options: dict[str, Any], credential_id: bytes | None) -> Credential:
        if credential_id is not None:
            return self.credentials[credential_id]
        allowed = [unb64url(d["id"]) for d in options.get("allowCredentials") or []]
        for candidate in allowed or list(self.credentials):
            if candidate in self.credentials:
                return self.credentials[candidate]
        raise LookupError("this authenticator holds none of the allowed credentials")
