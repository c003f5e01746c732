"""Encryption of sensitive fields at rest, and keyed hashes that find them.

ID numbers are stored encrypted (Fernet: AES-128-CBC with HMAC-SHA256) under
``settings.FIELD_ENCRYPTION_KEY``; an HMAC of the normalised value (a "blind index")
lets the database find and deduplicate them without holding them in clear.
"""

from __future__ import annotations

import hashlib
import hmac
from functools import cache

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings


@cache
def _fernet(key: str) -> Fernet:
    return Fernet(key.encode())


def _key() -> str:
    return str(settings.FIELD_ENCRYPTION_KEY)


def encrypt(value: str) -> str:
    if not value:
        return ""
    return _fernet(_key()).encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    """The clear value; "" for an empty token. A token under another key raises."""
    if not token:
        return ""
    try:
        return _fernet(_key()).decrypt(token.encode()).decode()
    except InvalidToken:
        raise ValueError("The value was encrypted under another key.") from None


def blind_hash(value: str, purpose: str = "id_number") -> str:
    """A keyed, deterministic hash: equal values match, the value cannot be read back."""
    if not value:
        return ""
    key = hashlib.sha256(f"kehu:{purpose}:{_key()}".encode()).digest()
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()
