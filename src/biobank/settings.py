"""One environment-driven settings module.

Every value that differs between a laptop and a production server comes from the environment
(or a file named by the environment). Helpers below fail loudly on a malformed value instead of
silently falling back. SQLite is the embedded default; ``DATABASE_URL`` selects PostgreSQL.
Production hardening is switched on by ``BIOBANK_PRODUCTION=true``.
"""

from __future__ import annotations

import os
import secrets
from datetime import timedelta
from pathlib import Path

import dj_database_url
import django_stubs_ext
from django.core.exceptions import ImproperlyConfigured

# Lets the generic model classes (ModelAdmin[Rule], QuerySet[Site]) work at run time too.
django_stubs_ext.monkeypatch()

PACKAGE_DIR = Path(__file__).resolve().parent
_source_root = PACKAGE_DIR.parents[1]
BASE_DIR = _source_root if (_source_root / "pyproject.toml").exists() else Path.cwd()


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    lowered = value.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be true or false, not {value!r}")


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    try:
        return int(value)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, not {value!r}") from exc


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def secret_from_env_or_file(name: str) -> str | None:
    """A secret from ``NAME`` or from the file named by ``NAME_FILE``."""
    direct = env_str(name)
    if direct:
        return direct
    path = env_str(f"{name}_FILE")
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ImproperlyConfigured(f"{name}_FILE points to an unreadable file: {exc}") from exc
    return None


PRODUCTION = env_bool("BIOBANK_PRODUCTION", False)
DEBUG = env_bool("BIOBANK_DEBUG", not PRODUCTION)
DATA_DIR = Path(env_str("BIOBANK_DATA_DIR", str(BASE_DIR / "var")) or "var")


def _development_secret_key() -> str:
    """A per-checkout random key kept in the data directory (never used in production)."""
    path = DATA_DIR / "secret_key"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_urlsafe(50), encoding="utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


_secret = secret_from_env_or_file("BIOBANK_SECRET_KEY")
if _secret is None:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "BIOBANK_SECRET_KEY (or BIOBANK_SECRET_KEY_FILE) must be set in production"
        )
    _secret = _development_secret_key()
SECRET_KEY = _secret


def _development_vault_key() -> str:
    """The demo's identity-vault key, kept in the data directory beside the database.

    Deliberately a separate file: copying the database alone must not reveal identities.
    """
    import base64

    path = DATA_DIR / "vault.key"
    if not path.exists():
        DATA_DIR.mkdir(parents=True, exist_ok=True)
        path.write_text(base64.urlsafe_b64encode(secrets.token_bytes(32)).decode(), "utf-8")
        path.chmod(0o600)
    return path.read_text(encoding="utf-8").strip()


# The identity vault's master key (HB-01): 32 bytes, URL-safe base64, never in the database.
_vault_key = secret_from_env_or_file("BIOBANK_VAULT_KEY")
if _vault_key is None:
    if PRODUCTION:
        raise ImproperlyConfigured(
            "BIOBANK_VAULT_KEY (or BIOBANK_VAULT_KEY_FILE) must be set in production"
        )
    _vault_key = _development_vault_key()
VAULT_KEY = _vault_key

ALLOWED_HOSTS = env_list(
    "BIOBANK_ALLOWED_HOSTS", [] if PRODUCTION else ["127.0.0.1", "localhost", "testserver"]
)
CSRF_TRUSTED_ORIGINS = env_list("BIOBANK_CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "axes",
    "ninja",
    "biobank.core",
    "biobank.participants",
    "biobank.specimens",
    "biobank.storage",
    "biobank.ethics",
    "biobank.biosafety",
    "biobank.distribution",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "biobank.core.middleware.SecurityHeadersMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "biobank.core.middleware.ChosenLanguageMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "biobank.urls"
WSGI_APPLICATION = "biobank.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "biobank.core.context_processors.navigation",
            ],
            "builtins": ["biobank.core.templatetags.biobank_tags"],
        },
    },
]

_database_url = env_str("DATABASE_URL")
if _database_url:
    DATABASES = {"default": dj_database_url.parse(_database_url, conn_max_age=60)}
else:
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": str(DATA_DIR / "biobank.sqlite3"),
            # A worker keeps its connection between requests: opening one (and running the
            # PRAGMAs below) costs about as much as a whole specimen creation (docs/benchmarks.md).
            "CONN_MAX_AGE": 600,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": {
                # WAL lets readers proceed while one writer writes; IMMEDIATE takes the write
                # lock at BEGIN so two writers queue instead of failing half-way.
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
AUTH_USER_MODEL = "core.User"
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "core:dashboard"
LOGOUT_REDIRECT_URL = "login"

# Login throttling (django-axes): lock a username+address pair after repeated failures.
AXES_FAILURE_LIMIT = env_int("BIOBANK_LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("BIOBANK_LOGIN_COOLOFF_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_ENABLED = env_bool("BIOBANK_LOGIN_THROTTLING", True)

LANGUAGE_CODE = "zh-hant"
LANGUAGES = [("zh-hant", "繁體中文"), ("en", "English")]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Asia/Taipei"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
STATIC_ROOT = DATA_DIR / "static"
MEDIA_ROOT = DATA_DIR / "media"
FILE_UPLOAD_PERMISSIONS = 0o640
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024

# Bulk imports uploaded on /imports/: the largest file accepted (a million specimen rows are
# about 150 MB of CSV), and whether a job runs in the request instead of a background thread
# (tests: pytest-django's transaction-wrapped tests are invisible to another thread).
IMPORT_UPLOAD_MAX_BYTES = env_int("BIOBANK_IMPORT_MAX_MB", 500) * 1024 * 1024
IMPORT_JOBS_INLINE = env_bool("BIOBANK_IMPORT_JOBS_INLINE", False)

EMAIL_BACKEND = env_str(
    "BIOBANK_EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if PRODUCTION
    else "django.core.mail.backends.console.EmailBackend",
)
EMAIL_HOST = env_str("BIOBANK_EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("BIOBANK_EMAIL_PORT", 25)
EMAIL_HOST_USER = env_str("BIOBANK_EMAIL_USER", "") or ""
EMAIL_HOST_PASSWORD = secret_from_env_or_file("BIOBANK_EMAIL_PASSWORD") or ""
EMAIL_USE_TLS = env_bool("BIOBANK_EMAIL_TLS", False)
DEFAULT_FROM_EMAIL = env_str("BIOBANK_FROM_EMAIL", "biobank@localhost")

# Cookies, sessions and headers.
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = env_int("BIOBANK_SESSION_SECONDS", 8 * 3600)
CSRF_COOKIE_SAMESITE = "Lax"
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
SECURE_CROSS_ORIGIN_OPENER_POLICY = "same-origin"
if PRODUCTION:
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    CSRF_COOKIE_HTTPONLY = True
    SECURE_SSL_REDIRECT = env_bool("BIOBANK_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("BIOBANK_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = env_bool("BIOBANK_HSTS_PRELOAD", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env_str("BIOBANK_LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},
}

NINJA_PAGINATION_PER_PAGE = 50

# A Zebra label printer's raw port, "host:port" (port 9100 by default); empty: download ZPL.
LABEL_PRINTER = env_str("BIOBANK_LABEL_PRINTER", "") or ""
