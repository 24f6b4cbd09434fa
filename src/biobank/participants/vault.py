"""The identity vault's cryptography (rule HB-01): encryption at rest and keyed lookups.

Identity (name, national ID, birth date, contact) is encrypted with AES-256-GCM under a key
derived from the vault master key (``BIOBANK_VAULT_KEY``), which lives outside the database.
The participant's public id is bound in as associated data, so a ciphertext moved to another
participant's row fails to decrypt. National IDs are found by an HMAC-SHA256 under a second
derived key: the database alone reveals neither identities nor which ID belongs to whom.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
from dataclasses import asdict, dataclass, field
from functools import lru_cache

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from biobank.core.rule_registry import implements

KEY_VERSION = 1


@dataclass(frozen=True)
class Identity:
    """What the vault holds for one participant. Never logged, audited or exported."""

    name: str = ""
    national_id: str = ""
    birth_date: str = ""  # ISO date, or "" when unknown
    phone: str = ""
    email: str = ""
    address: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def __repr__(self) -> str:  # keep identities out of tracebacks and logs
        return "Identity(<redacted>)"

    __str__ = __repr__


class VaultError(Exception):
    pass


class Vault:
    def __init__(self, master_key: bytes) -> None:
        if len(master_key) != 32:
            raise ImproperlyConfigured("the vault key must be 32 bytes (URL-safe base64)")
        self._cipher = AESGCM(self._derive(master_key, b"biobank identity vault encryption v1"))
        self._lookup_key = self._derive(master_key, b"biobank identity vault lookup v1")

    @staticmethod
    def _derive(master_key: bytes, info: bytes) -> bytes:
        return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=info).derive(master_key)

    def seal(self, identity: Identity, *, bound_to: str) -> bytes:
        plaintext = json.dumps(asdict(identity), ensure_ascii=False, sort_keys=True).encode()
        nonce = os.urandom(12)
        return nonce + self._cipher.encrypt(nonce, plaintext, bound_to.encode())

    def open(self, blob: bytes, *, bound_to: str) -> Identity:
        try:
            plaintext = self._cipher.decrypt(blob[:12], blob[12:], bound_to.encode())
        except InvalidTag as exc:
            raise VaultError("identity record does not decrypt (wrong key or moved row)") from exc
        return Identity(**json.loads(plaintext))

    @implements("HB-01")
    def lookup_hash(self, national_id: str) -> str:
        normalised = national_id.strip().upper()
        return hmac.new(self._lookup_key, normalised.encode(), hashlib.sha256).hexdigest()


def decode_key(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text.strip().encode())
    except ValueError as exc:
        raise ImproperlyConfigured("BIOBANK_VAULT_KEY is not URL-safe base64") from exc


@lru_cache(maxsize=4)
def _vault_for(key_text: str) -> Vault:
    return Vault(decode_key(key_text))


def get_vault() -> Vault:
    return _vault_for(settings.VAULT_KEY)
