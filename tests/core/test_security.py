"""Security from the start: Argon2, login throttling, production settings, headers."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import pytest
from django.contrib.auth.hashers import get_hasher

from tests.factories import UserFactory


def test_passwords_are_hashed_with_argon2(db):
    user = UserFactory(username="hashme")
    user.set_password("a-long-test-password")
    assert user.password.startswith("argon2")
    assert get_hasher().algorithm == "argon2"


def test_login_is_locked_after_repeated_failures(cast, client, settings):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/accounts/login/", {"username": "chen", "password": "wrong"})
    response = client.post("/accounts/login/", {"username": "chen", "password": cast.password})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_correct_password_signs_in(cast, client):
    response = client.post("/accounts/login/", {"username": "chen", "password": cast.password})
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(cast.technician.pk)


def test_pages_send_security_headers(client):
    response = client.get("/accounts/login/")
    assert response["X-Frame-Options"] == "DENY"
    assert "default-src 'self'" in response["Content-Security-Policy"]
    assert response["X-Content-Type-Options"] == "nosniff"


def test_deploy_check_passes_with_production_settings(tmp_path):
    key_file = tmp_path / "secret"
    key_file.write_text("x" * 20 + "-production-secret-key-for-the-deploy-check-0123456789")
    vault_key = tmp_path / "vault.key"
    vault_key.write_text(base64.urlsafe_b64encode(bytes(range(32))).decode())
    env = {
        **os.environ,
        "BIOBANK_PRODUCTION": "true",
        "BIOBANK_SECRET_KEY_FILE": str(key_file),
        "BIOBANK_VAULT_KEY_FILE": str(vault_key),
        "BIOBANK_ALLOWED_HOSTS": "biobank.example.org",
        "BIOBANK_DATA_DIR": str(tmp_path),
    }
    env.pop("DATABASE_URL", None)
    result = subprocess.run(
        [sys.executable, "-m", "biobank.cli", "check", "--deploy", "--fail-level", "WARNING"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    env = {**os.environ, "BIOBANK_PRODUCTION": "true", "BIOBANK_DATA_DIR": str(tmp_path)}
    env.pop("BIOBANK_SECRET_KEY", None)
    env.pop("BIOBANK_SECRET_KEY_FILE", None)
    result = subprocess.run(
        [sys.executable, "-m", "biobank.cli", "check"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "BIOBANK_SECRET_KEY" in result.stderr


def test_malformed_boolean_setting_fails_loudly(monkeypatch):
    from django.core.exceptions import ImproperlyConfigured

    from biobank.settings import env_bool

    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfigured, match="X_FLAG"):
        env_bool("X_FLAG", False)


def test_production_refuses_to_start_without_a_vault_key(tmp_path):
    key_file = tmp_path / "secret"
    key_file.write_text("y" * 60)
    env = {
        **os.environ,
        "BIOBANK_PRODUCTION": "true",
        "BIOBANK_SECRET_KEY_FILE": str(key_file),
        "BIOBANK_DATA_DIR": str(tmp_path),
    }
    env.pop("BIOBANK_VAULT_KEY", None)
    env.pop("BIOBANK_VAULT_KEY_FILE", None)
    result = subprocess.run(
        [sys.executable, "-m", "biobank.cli", "check"],
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode != 0
    assert "BIOBANK_VAULT_KEY" in result.stderr
