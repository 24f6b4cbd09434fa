"""HB-01: the identity vault's encryption and keyed lookups."""

from __future__ import annotations

import os

import pytest
from django.core.exceptions import ImproperlyConfigured

from biobank.participants.vault import Identity, Vault, VaultError

KEY = bytes(range(32))


def test_hb01_identity_round_trips_through_the_vault():
    vault = Vault(KEY)
    identity = Identity(name="王小明", national_id="A123456789", birth_date="1968-04-12")
    sealed = vault.seal(identity, bound_to="participant-1")
    assert vault.open(sealed, bound_to="participant-1") == identity


def test_hb01_ciphertext_holds_no_clear_text_and_differs_each_time():
    vault = Vault(KEY)
    identity = Identity(name="王小明", national_id="A123456789")
    first, second = vault.seal(identity, bound_to="p"), vault.seal(identity, bound_to="p")
    assert first != second
    assert "王小明".encode() not in first and b"A123456789" not in first


def test_hb01_a_sealed_identity_moved_to_another_participant_does_not_open():
    vault = Vault(KEY)
    sealed = vault.seal(Identity(name="x"), bound_to="participant-1")
    with pytest.raises(VaultError):
        vault.open(sealed, bound_to="participant-2")


def test_hb01_another_key_cannot_open_or_find():
    sealed = Vault(KEY).seal(Identity(name="x"), bound_to="p")
    other = Vault(os.urandom(32))
    with pytest.raises(VaultError):
        other.open(sealed, bound_to="p")
    assert Vault(KEY).lookup_hash("A123456789") != other.lookup_hash("A123456789")


def test_hb01_lookup_hash_is_keyed_and_normalised():
    vault = Vault(KEY)
    assert vault.lookup_hash(" a123456789 ") == vault.lookup_hash("A123456789")
    import hashlib

    assert vault.lookup_hash("A123456789") != hashlib.sha256(b"A123456789").hexdigest()


def test_hb01_identity_never_prints_itself():
    identity = Identity(name="王小明", national_id="A123456789")
    assert "王小明" not in repr(identity) and "A123456789" not in str(identity)


def test_a_short_key_is_refused():
    with pytest.raises(ImproperlyConfigured):
        Vault(b"short")
