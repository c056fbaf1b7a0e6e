"""Django settings, all read from ``EPIGRID_*`` environment variables.

Defaults are safe for the demo on one machine. ``EPIGRID_MODE=production`` refuses to start
without real secrets (see :func:`_require_production_secrets`).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent.parent
VAR_DIR = Path(os.environ.get("EPIGRID_VAR_DIR", PROJECT_DIR / "var"))

MODE = os.environ.get("EPIGRID_MODE", "demo")  # demo | production
if MODE not in {"demo", "production"}:
    raise ImproperlyConfigured(f"EPIGRID_MODE must be 'demo' or 'production', not {MODE!r}")
PRODUCTION = MODE == "production"

# Demo-only values. They are public (they are in this file), so production refuses them.
_DEMO_SECRET_KEY = "epigrid-demo-secret-key-not-for-production-0123456789abcdef"
_DEMO_FIELD_KEY = "ZXBpZ3JpZC1kZW1vLWZpZWxkLWtleS1ub3Qtc2VjcmV0IQ=="

SECRET_KEY = os.environ.get("EPIGRID_SECRET_KEY", _DEMO_SECRET_KEY)
# Key for personal-data field encryption and blind indexes (base64 of >= 32 bytes).
FIELD_KEY = os.environ.get("EPIGRID_FIELD_KEY", _DEMO_FIELD_KEY)
REDIS_URL = os.environ.get("EPIGRID_REDIS_URL", "")
DEBUG = os.environ.get("EPIGRID_DEBUG", "0") == "1"
ALLOWED_HOSTS = [h for h in os.environ.get("EPIGRID_ALLOWED_HOSTS", "*").split(",") if h]
CSRF_TRUSTED_ORIGINS = [o for o in os.environ.get("EPIGRID_CSRF_TRUSTED_ORIGINS", "").split(",") if o]


def _require_production_secrets() -> None:
    problems = []
    if SECRET_KEY == _DEMO_SECRET_KEY or len(SECRET_KEY) < 40:
        problems.append("EPIGRID_SECRET_KEY must be set to a random value of at least 40 characters")
    if FIELD_KEY == _DEMO_FIELD_KEY:
        problems.append("EPIGRID_FIELD_KEY must be set (base64 of 32 random bytes)")
    if ALLOWED_HOSTS == ["*"]:
        problems.append("EPIGRID_ALLOWED_HOSTS must list the host names the site is served under")
    if DEBUG:
        problems.append("EPIGRID_DEBUG must be off")
    if problems:
        raise ImproperlyConfigured("Refusing to start in production mode: " + "; ".join(problems))


if PRODUCTION:
    _require_production_secrets()
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "template_partials",
    "django_tasks",
    "django_tasks_db",
    "epigrid.core",
    "epigrid.places",
    "epigrid.checkins",
    "epigrid.healthcode",
    "epigrid.testing",
    "epigrid.investigation",
    "epigrid.quarantine",
    "epigrid.grids",
    "epigrid.command",
    "epigrid.vaccination",
    "epigrid.comparison",
    "epigrid.supplies",
    "epigrid.medwaste",
    "epigrid.publicity",
    "epigrid.portal",
    "epigrid.simulation",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "epigrid.core.middleware.CurrentRequestMiddleware",
    "epigrid.core.drill.DrillFileNames",  # drill instances: DRILL- in front of every download
]

ROOT_URLCONF = "epigrid.urls"
WSGI_APPLICATION = "epigrid.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "django.template.context_processors.i18n",
                "epigrid.core.context_processors.epigrid",
                "epigrid.core.notice_context.unread_notices",
                "epigrid.core.drill.drill_context",
            ],
        },
    }
]

# Database: EPIGRID_DATABASE_URL, default an SQLite file in var/.
DEFAULT_DATABASE_URL = f"sqlite:///{VAR_DIR / 'epigrid.sqlite3'}"
DATABASE_URL = os.environ.get("EPIGRID_DATABASE_URL", DEFAULT_DATABASE_URL)
# Persistent connections without a per-request health check: the check is an extra round trip on every
# request (a dropped connection costs one failed request instead).
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60, conn_health_checks=False)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"]["OPTIONS"] = {
        # WAL + NORMAL: durable across application crashes, fast (docs/performance.md in shared docs).
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=10000; "
            "PRAGMA foreign_keys=ON;"
        ),
        "transaction_mode": "IMMEDIATE",
    }
    # Tests use a file, not memory, so that a server started by a test (benchmarks, CLI) sees the same data.
    DATABASES["default"]["TEST"] = {
        "NAME": os.path.join(tempfile.gettempdir(), f"epigrid-test-{os.getpid()}.sqlite3"),
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "core.User"
LOGIN_URL = "core:login"
LOGIN_REDIRECT_URL = "core:home"
LOGOUT_REDIRECT_URL = "core:login"
AUTH_PASSWORD_VALIDATORS = (
    [
        {
            "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
            "OPTIONS": {"min_length": 10},
        },
        {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    ]
    if PRODUCTION
    else []
)

# Languages: Chinese first, English complete.
LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", "简体中文"), ("en", "English")]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True
TIME_ZONE = os.environ.get("EPIGRID_TIME_ZONE", "Asia/Shanghai")

STATIC_URL = "/static/"
STATIC_ROOT = VAR_DIR / "static"
STATICFILES_DIRS = [BASE_DIR / "static"]
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# Rate-limit counters (and other short-lived shared state): Redis when configured, so that every web process
# counts together; otherwise per process.
CACHES = {
    "default": (
        {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
        if REDIS_URL
        else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "epigrid"}
    )
}

TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend", "QUEUES": ["default"]}}

# Base URL printed in venue QR codes (https://<host>); empty: taken from the request that asks for the code.
PUBLIC_URL = os.environ.get("EPIGRID_PUBLIC_URL", "").rstrip("/")

# Map tiles: empty means boundaries are drawn on a plain background (no network needed).
MAP_TILE_URL = os.environ.get("EPIGRID_MAP_TILE_URL", "")
# Video consultation: the meeting-room URL of the video-conferencing server, {room} replaced by a fresh room
# name (e.g. a self-hosted Jitsi: https://meet.example.org/{room}). Empty: consultations are off.
VIDEO_MEETING_URL = os.environ.get("EPIGRID_VIDEO_MEETING_URL", "")
# Record linkage (comparison.matching): where each district's trained model (parameters only) is kept, and how
# many threads DuckDB may use (0: every core).
LINKAGE_MODEL_DIR = Path(os.environ.get("EPIGRID_LINKAGE_MODEL_DIR", VAR_DIR / "linkage"))
LINKAGE_THREADS = int(os.environ.get("EPIGRID_LINKAGE_THREADS", "0"))
# The event stream (SSE): how often a server process looks for new events in the database when there is no
# Redis (EPIGRID_REDIS_URL) to push them, and how often an idle stream sends a keep-alive comment.
STREAM_POLL_SECONDS = float(os.environ.get("EPIGRID_STREAM_POLL_SECONDS", "0.25"))
STREAM_HEARTBEAT_SECONDS = float(os.environ.get("EPIGRID_STREAM_HEARTBEAT_SECONDS", "15"))
# Drill mode: this instance serves a copy of the data for an exercise (``epigrid drill``); every page says so.
# Text messages: "console" (log + in-memory outbox, the demo's default) or "http" (the gateway adapter).
SMS_BACKEND = os.environ.get("EPIGRID_SMS_BACKEND", "console")
SMS_HTTP_URL = os.environ.get("EPIGRID_SMS_HTTP_URL", "")
SMS_HTTP_TOKEN = os.environ.get("EPIGRID_SMS_HTTP_TOKEN", "")


def email_settings(url: str) -> dict[str, object]:
    """Django's email settings from one URL: ``smtp://user:password@host:587?tls=1`` (``ssl=1`` for SMTPS),
    ``console://`` or empty (written to the log, the demo's default), ``locmem://`` (kept in memory)."""
    from urllib.parse import parse_qs, unquote, urlsplit

    if not url or url.startswith("console:"):
        return {"EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend"}
    if url.startswith("locmem:"):
        return {"EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend"}
    parts = urlsplit(url)
    if parts.scheme not in {"smtp", "smtps"} or not parts.hostname:
        raise ImproperlyConfigured("EPIGRID_EMAIL_URL must look like smtp://user:password@host:587?tls=1")
    query = {key: values[-1] for key, values in parse_qs(parts.query).items()}
    ssl = parts.scheme == "smtps" or query.get("ssl") == "1"
    return {
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": parts.hostname,
        "EMAIL_PORT": parts.port or (465 if ssl else 587 if query.get("tls") == "1" else 25),
        "EMAIL_HOST_USER": unquote(parts.username or ""),
        "EMAIL_HOST_PASSWORD": unquote(parts.password or ""),
        "EMAIL_USE_TLS": query.get("tls") == "1" and not ssl,
        "EMAIL_USE_SSL": ssl,
        "EMAIL_TIMEOUT": 10,
    }


# Email for notices (the notification service's email channel). Tests use Django's locmem outbox.
globals().update(email_settings(os.environ.get("EPIGRID_EMAIL_URL", "")))
DEFAULT_FROM_EMAIL = os.environ.get("EPIGRID_EMAIL_FROM", "EpiGrid <noreply@epigrid.invalid>")

DRILL = os.environ.get("EPIGRID_DRILL", "0") == "1"
MAP_CENTER = (37.55, 121.25)

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_AGE = 12 * 3600
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("EPIGRID_LOG_LEVEL", "WARNING")},
}
