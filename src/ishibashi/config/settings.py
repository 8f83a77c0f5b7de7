"""Django settings, read from the environment (see the README's configuration table)."""

from __future__ import annotations

import ipaddress
import os
import secrets
from pathlib import Path
from typing import Any

import dj_database_url
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

PACKAGE_DIR = Path(__file__).resolve().parent.parent
# var/ holds what a running installation writes: the SQLite file, the dev secret key, uploads.
VAR_DIR = Path(os.environ.get("ISHIBASHI_VAR_DIR", Path.cwd() / "var")).resolve()


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    if value.lower() in {"1", "true", "yes", "on"}:
        return True
    if value.lower() in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), not {value!r}")


def env_list(name: str, default: list[str]) -> list[str]:
    value = os.environ.get(name)
    if not value:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


# "production" makes every safety setting mandatory; "development" (the default) fills gaps.
ENVIRONMENT = os.environ.get("ISHIBASHI_ENVIRONMENT", "development")
if ENVIRONMENT not in {"development", "production"}:
    raise ImproperlyConfigured("ISHIBASHI_ENVIRONMENT must be 'development' or 'production'")
IS_PRODUCTION = ENVIRONMENT == "production"

DEBUG = env_bool("ISHIBASHI_DEBUG", default=False)
if IS_PRODUCTION and DEBUG:
    # DEBUG shows settings and tracebacks to anyone who finds an error page.
    raise ImproperlyConfigured("ISHIBASHI_DEBUG must be off in production")

# Django's own deploy check asks for 50 characters and 5 different ones.
SECRET_KEY_LENGTH_MIN = 50


def _secret_key() -> str:
    key = os.environ.get("ISHIBASHI_SECRET_KEY")
    if IS_PRODUCTION and (not key or len(key) < SECRET_KEY_LENGTH_MIN or len(set(key)) < 5):
        raise ImproperlyConfigured(
            "ISHIBASHI_SECRET_KEY must be set in production, at least 50 random characters "
            '(python -c "import secrets; print(secrets.token_urlsafe(50))")'
        )
    if key:
        return key
    # Development: keep one generated key per installation so sessions survive restarts.
    key_file = VAR_DIR / "secret_key"
    if not key_file.exists():
        # Several server processes start at once: each writes a complete key to its own file
        # and links it into place; the first link wins and nobody ever reads a half-written key.
        VAR_DIR.mkdir(parents=True, exist_ok=True)
        draft = VAR_DIR / f"secret_key.{os.getpid()}.{secrets.token_hex(4)}"
        draft.write_text(secrets.token_urlsafe(50))
        draft.chmod(0o600)
        try:
            os.link(draft, key_file)
        except FileExistsError:
            pass
        finally:
            draft.unlink()
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()

ALLOWED_HOSTS = env_list(
    "ISHIBASHI_ALLOWED_HOSTS",
    [] if IS_PRODUCTION else ["localhost", "127.0.0.1", "[::1]", "testserver"],
)
if IS_PRODUCTION and not ALLOWED_HOSTS:
    raise ImproperlyConfigured(
        "ISHIBASHI_ALLOWED_HOSTS must name the site's host names in production (comma-separated)"
    )
CSRF_TRUSTED_ORIGINS = env_list("ISHIBASHI_CSRF_TRUSTED_ORIGINS", [])
# The operator area (console, admin, operator API) answers only from these networks (CIDRs,
# comma-separated; the client address as core.client_address sees it); elsewhere it is a 404.
# Empty: from anywhere (staff still need their password and second factor).
OPERATOR_ALLOWED_NETWORKS = env_list("ISHIBASHI_OPERATOR_ALLOWED_NETWORKS", [])
for _network in OPERATOR_ALLOWED_NETWORKS:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(
            f"ISHIBASHI_OPERATOR_ALLOWED_NETWORKS: {_network!r} is not a network (say 10.0.0.0/8)"
        ) from None

INSTALLED_APPS = [
    # django.contrib.admin, whose log-in is the site's throttled one (accounts/admin_site.py).
    "ishibashi.accounts.apps.OperatorAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django_htmx",
    # Its docs viewer (/api/v1/docs) then uses its own static Swagger UI instead of a CDN.
    "ninja",
    "django_tasks",
    "django_tasks_db",
    "ishibashi.core",
    "ishibashi.accounts",
    "ishibashi.notifications",
    "ishibashi.ledger",
    "ishibashi.payments",
    "ishibashi.jobs",
    "ishibashi.contracts",
    "ishibashi.reviews",
    "ishibashi.reputation",
    "ishibashi.operations",
]

MIDDLEWARE = [
    # An id per request, in the X-Request-ID header, the log lines and a 500's body.
    "ishibashi.core.request_ids.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    # Content-Security-Policy on pages, sandboxed downloads, no caching of private answers.
    "ishibashi.core.security_headers.SecurityHeadersMiddleware",
    # A database that cannot be reached answers 503 with Retry-After, not 500 (core/middleware).
    "ishibashi.core.middleware.DatabaseUnavailableMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # The operator area is a 404 outside ISHIBASHI_OPERATOR_ALLOWED_NETWORKS (operations).
    "ishibashi.operations.middleware.OperatorNetworkMiddleware",
    # A staff session reaches nothing before its second factor (accounts/gate.py).
    "ishibashi.accounts.gate.SecondFactorGateMiddleware",
    # A delivery upload from anyone but the worker is refused before its body is read; it
    # runs before any view middleware (CSRF's reads a POST body).
    "ishibashi.contracts.upload_gate.DeliveryUploadGate",
    "django.contrib.messages.middleware.MessageMiddleware",
    # A retried money action with the same Idempotency-Key gets the first answer (core).
    "ishibashi.core.idempotency.IdempotencyKeyMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "ishibashi.config.urls"
WSGI_APPLICATION = "ishibashi.config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [PACKAGE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "ishibashi.notifications.context_processors.unread_notifications",
            ],
            # {{ amount|yen }} on every page without a {% load %}: one money format everywhere.
            "builtins": ["ishibashi.core.templatetags.money"],
        },
    },
]

# Widgets (an input, a textarea, a select) drawn by Django's own Jinja2 templates: 0.08 ms each
# instead of 0.23 ms; a contract page draws a dozen. Pages themselves stay Django templates.
FORM_RENDERER = "django.forms.renderers.Jinja2"


def _databases() -> dict[str, Any]:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{VAR_DIR / 'ishibashi.sqlite3'}"
    database: dict[str, Any] = dict(dj_database_url.parse(url, conn_max_age=0))
    if database["ENGINE"] == "django.db.backends.sqlite3":
        Path(database["NAME"]).parent.mkdir(parents=True, exist_ok=True)
        # IMMEDIATE takes the write lock at BEGIN, so two writers queue on busy_timeout instead
        # of one failing with "database is locked" when it upgrades a read to a write.
        database["OPTIONS"] = {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
        # A file, not :memory:, so the browser tests' gunicorn sees the test database.
        database["TEST"] = {"NAME": str(Path(database["NAME"]).with_suffix("")) + "-test.sqlite3"}
    elif database["ENGINE"] == "django.db.backends.postgresql":
        database["CONN_MAX_AGE"] = int(os.environ.get("ISHIBASHI_DB_CONN_MAX_AGE", "60"))
        database["CONN_HEALTH_CHECKS"] = True
        # Django binds parameters on the client and never prepares; the ledger's hot statement
        # asks for a server-side prepared statement (decision 0003). Turn this off behind a
        # transaction-pooling PgBouncer, which cannot keep prepared statements.
        prepared = env_bool("ISHIBASHI_DB_PREPARED_STATEMENTS", default=True)
        database["OPTIONS"] = {"prepare_threshold": 5 if prepared else None}
    else:
        raise ImproperlyConfigured("DATABASE_URL must point at SQLite or PostgreSQL")
    return {"default": database}


DATABASES = _databases()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "accounts.User"
LOGIN_URL = "accounts:login"
LOGIN_REDIRECT_URL = "accounts:profile"
LOGOUT_REDIRECT_URL = "home"

PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {
        "NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator",
        "OPTIONS": {"user_attributes": ("email", "display_name")},
    },
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
LOCALE_PATHS = [PACKAGE_DIR / "locale"]
TIME_ZONE = "Asia/Tokyo"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [PACKAGE_DIR / "static"]
if not IS_PRODUCTION:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = VAR_DIR / "media"
# The app serves static files itself; collecting them first is optional outside production.
WHITENOISE_USE_FINDERS = not IS_PRODUCTION
WHITENOISE_AUTOREFRESH = DEBUG

# HTTPS. Production is HTTPS-only by default: plain HTTP is redirected, HSTS is sent and cookies
# are Secure; `ishibashi serve` refuses to start while `check --deploy` warns (deploy/README.md).
# ISHIBASHI_ALLOW_PLAIN_HTTP=1 opts out, for a test rig on loopback only (the fault suite).
ALLOW_PLAIN_HTTP = env_bool("ISHIBASHI_ALLOW_PLAIN_HTTP", default=False)
HTTPS_ONLY = IS_PRODUCTION and not ALLOW_PLAIN_HTTP
# Reverse-proxy hops in front of the app (nginx: 1). Their X-Forwarded-For names the client
# (core.client_address) and their X-Forwarded-Proto says whether it came over HTTPS; with none,
# both headers are the client's own words and ignored.
try:
    TRUSTED_PROXY_COUNT = int(os.environ.get("ISHIBASHI_TRUSTED_PROXY_COUNT", "0"))
except ValueError:
    TRUSTED_PROXY_COUNT = -1
if not 0 <= TRUSTED_PROXY_COUNT <= 10:
    raise ImproperlyConfigured("ISHIBASHI_TRUSTED_PROXY_COUNT must be a whole number from 0 to 10")
# The header those proxies append the client's address to (core.client_address).
FORWARDED_FOR_HEADER = os.environ.get("ISHIBASHI_FORWARDED_FOR_HEADER", "X-Forwarded-For")
if TRUSTED_PROXY_COUNT > 0:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = HTTPS_ONLY
# Load balancers and the operator's own probes ask for the health check over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SECURE_HSTS_SECONDS = int(
    os.environ.get("ISHIBASHI_HSTS_SECONDS", str(365 * 24 * 3600) if HTTPS_ONLY else "0")
)
SECURE_HSTS_INCLUDE_SUBDOMAINS = True
SECURE_HSTS_PRELOAD = env_bool("ISHIBASHI_HSTS_PRELOAD", default=False)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SECURE = env_bool("ISHIBASHI_SECURE_COOKIES", default=HTTPS_ONLY)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SILENCED_SYSTEM_CHECKS = []
if not SECURE_HSTS_PRELOAD:
    # security.W021 asks for HSTS preload. Joining the browsers' preload list binds the whole
    # registered domain, not just this app, and takes months to undo: the domain owner's
    # decision (ISHIBASHI_HSTS_PRELOAD=1), not a default.
    SILENCED_SYSTEM_CHECKS.append("security.W021")
if IS_PRODUCTION and ALLOW_PLAIN_HTTP:
    # The operator said plain HTTP on purpose; ishibashi.I002 says so at every start instead of
    # Django's four HTTPS warnings (HSTS, redirect, session and CSRF cookies).
    SILENCED_SYSTEM_CHECKS += ["security.W004", "security.W008", "security.W012", "security.W016"]

# Bodies beyond these limits are refused before a view runs (uploads get their own limit).
DATA_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024

EMAIL_HOST = os.environ.get("ISHIBASHI_EMAIL_HOST", "")
EMAIL_PORT = int(os.environ.get("ISHIBASHI_EMAIL_PORT", "587"))
EMAIL_HOST_USER = os.environ.get("ISHIBASHI_EMAIL_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("ISHIBASHI_EMAIL_PASSWORD", "")
EMAIL_USE_TLS = env_bool("ISHIBASHI_EMAIL_USE_TLS", default=bool(EMAIL_HOST))
EMAIL_TIMEOUT = 10
EMAIL_BACKEND = os.environ.get(
    "ISHIBASHI_EMAIL_BACKEND",
    "django.core.mail.backends.smtp.EmailBackend"
    if EMAIL_HOST
    else "django.core.mail.backends.console.EmailBackend",
)
# Where the file-based backend writes mail (the browser tests' server uses it); unused otherwise.
EMAIL_FILE_PATH = VAR_DIR / "mail"
DEFAULT_FROM_EMAIL = os.environ.get(
    "ISHIBASHI_DEFAULT_FROM_EMAIL", "Ishibashi <no-reply@localhost>"
)
# Links in e-mails need an absolute address; requests know theirs, the worker does not.
SITE_URL = os.environ.get("ISHIBASHI_SITE_URL", "http://localhost:8000")

# Sign-ups per client address and the hourly proposals/messages of new accounts are limited
# (core.limits). A load or fault test signs up many accounts from one address and has each send
# proposals all day: it sets ISHIBASHI_ACCOUNT_ABUSE_LIMITS=0. Never on a public site; e-mail
# verification stays required either way.
ACCOUNT_ABUSE_LIMITS = env_bool("ISHIBASHI_ACCOUNT_ABUSE_LIMITS", default=True)

# Money rules, snapshotted onto each contract when it is signed (basis points: 1000 = 10 %).
PLATFORM_FEE_RATE_BPS = int(os.environ.get("ISHIBASHI_PLATFORM_FEE_RATE_BPS", "1000"))

# Contract terms snapshotted at hire. Inspection (検収) days are bounded so that the latest
# automatic approval stays inside the Freelance Act's 60 days from delivery (law.md L-20, L-26).
INSPECTION_DAYS_DEFAULT = int(os.environ.get("ISHIBASHI_INSPECTION_DAYS_DEFAULT", "7"))
INSPECTION_DAYS_MIN = int(os.environ.get("ISHIBASHI_INSPECTION_DAYS_MIN", "3"))
INSPECTION_DAYS_MAX = int(os.environ.get("ISHIBASHI_INSPECTION_DAYS_MAX", "14"))
# Clocks on a wait (days). Each one runs a reminder ladder (50 %, 85 %, 24 h before) and then
# acts: an unfunded milestone closes, an uninspected delivery is approved and paid.
FUNDING_DAYS = int(os.environ.get("ISHIBASHI_FUNDING_DAYS", "7"))
CLIENT_REPLY_DAYS = int(os.environ.get("ISHIBASHI_CLIENT_REPLY_DAYS", "7"))
CHANGE_ANSWER_DAYS = int(os.environ.get("ISHIBASHI_CHANGE_ANSWER_DAYS", "7"))
CANCELLATION_ANSWER_DAYS = int(os.environ.get("ISHIBASHI_CANCELLATION_ANSWER_DAYS", "7"))
# キャンセル料: a contract term in whole percent of a started milestone.
KILL_FEE_PERCENT_MAX = int(os.environ.get("ISHIBASHI_KILL_FEE_PERCENT_MAX", "50"))
# Monthly retainers: the next month's milestone is requested this many days ahead; the client's
# termination takes effect after the notice period (Freelance Act art. 16, law.md L-41).
MONTHLY_FUNDING_LEAD_DAYS = int(os.environ.get("ISHIBASHI_MONTHLY_FUNDING_LEAD_DAYS", "7"))
MONTHLY_TERMINATION_NOTICE_DAYS = 30
# Deliveries: per file and per delivery; only these extensions are accepted.
DELIVERY_FILE_SIZE_MAX_BYTES = int(
    os.environ.get("ISHIBASHI_DELIVERY_FILE_SIZE_MAX_BYTES", str(20 * 1024 * 1024))
)
DELIVERY_FILES_MAX = int(os.environ.get("ISHIBASHI_DELIVERY_FILES_MAX", "10"))
DELIVERY_FILE_EXTENSIONS = frozenset(
    env_list(
        "ISHIBASHI_DELIVERY_FILE_EXTENSIONS",
        [
            "pdf",
            "txt",
            "md",
            "csv",
            "json",
            "png",
            "jpg",
            "jpeg",
            "gif",
            "webp",
            "svg",
            "zip",
            "docx",
            "xlsx",
            "pptx",
            "psd",
            "ai",
            "mp3",
            "mp4",
        ],
    )
)
# Job categories whose pay is subject to withholding when an individual is paid by a withholding
# agent (law.md L-50, L-51): design, writing and translation; programming and data entry are not.
WITHHOLDING_CATEGORIES = frozenset(
    env_list("ISHIBASHI_WITHHOLDING_CATEGORIES", ["design", "writing", "translation"])
)
PAYMENT_PROVIDER = os.environ.get("ISHIBASHI_PAYMENT_PROVIDER", "sandbox")
ALLOW_SANDBOX_PAYMENTS_IN_PRODUCTION = env_bool(
    "ISHIBASHI_ALLOW_SANDBOX_PAYMENTS_IN_PRODUCTION", default=False
)
SANDBOX_PAYOUT_DELAY_SECONDS = int(os.environ.get("ISHIBASHI_SANDBOX_PAYOUT_DELAY_SECONDS", "60"))

TASKS = {
    "default": {
        "BACKEND": os.environ.get("ISHIBASHI_TASKS_BACKEND", "django_tasks_db.DatabaseBackend"),
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s]: %(message)s"}
    },
    "filters": {
        "request_id": {"()": "ishibashi.core.request_ids.RequestIdFilter"},
        "oversized_request": {"()": "ishibashi.core.bad_requests.OversizedRequestLogFilter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request_id"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("ISHIBASHI_LOG_LEVEL", "INFO")},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        # The task worker logs every empty poll at INFO; only problems are worth a line.
        "django_tasks_db": {"level": "WARNING"},
        # A body too large or with too many fields, or a Host header that is not ours (scanners
        # send them all day), from anyone: one WARNING line, no traceback (core/bad_requests.py).
        **{
            f"django.security.{name}": {"filters": ["oversized_request"]}
            for name in (
                "RequestDataTooBig",
                "TooManyFieldsSent",
                "TooManyFilesSent",
                "DisallowedHost",
            )
        },
    },
}
