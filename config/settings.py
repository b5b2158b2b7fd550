"""One settings module, driven by environment variables.

With no variables set, the app runs on the embedded defaults: a SQLite file and a SQLite-backed Celery
broker under ./var, and the embedded CPU model; debug pages only with DEBUG=1. LABELAPP_ENV=production
turns on the production defaults (secure cookies, hashed static files) and refuses to start on development
values of DEBUG, SECRET_KEY or ALLOWED_HOSTS; it also wants DATABASE_URL, CELERY_BROKER_URL and CACHE_URL
(README).
"""

import os
import re
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("LABELAPP_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool) -> bool:
    return os.environ.get(name, str(int(default))).lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str = "") -> list[str]:
    return [value.strip() for value in os.environ.get(name, default).split(",") if value.strip()]


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, str(default))
    try:
        return int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a whole number, not {raw!r}.") from None


def env_rate(name: str, default: str) -> str | None:
    """A DRF throttle rate such as "600/min"; "none" turns that throttle off."""
    raw = os.environ.get(name, default).strip().lower()
    if raw in {"", "none", "off"}:
        return None
    if not re.fullmatch(r"\d+/(s|sec|second|m|min|minute|h|hour|d|day)", raw):
        raise ImproperlyConfigured(
            f"{name} must look like 600/min (per s, min, hour or day) or none, not {raw!r}."
        )
    return raw


LABELAPP_ENV = os.environ.get("LABELAPP_ENV", "development")
if LABELAPP_ENV not in {"development", "production"}:
    raise ImproperlyConfigured(f"LABELAPP_ENV must be development or production, not {LABELAPP_ENV!r}.")
PRODUCTION = LABELAPP_ENV == "production"

DEVELOPMENT_SECRET_KEY = "insecure-embedded-default-change-me"
# Off unless asked for: `make run` may serve a small team for real, and debug pages show any visitor the
# settings and source. Static files are served by WhiteNoise either way.
DEBUG = env_bool("DEBUG", False)
SECRET_KEY = os.environ.get("SECRET_KEY", DEVELOPMENT_SECRET_KEY)
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "" if PRODUCTION else "127.0.0.1,localhost")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")


def production_refusals() -> list[str]:
    """Why production mode must not start with these settings; each reason names the variable to set."""
    refusals = []
    if DEBUG:
        refusals.append(
            "DEBUG is on: unset it or set DEBUG=0 (debug pages show settings and source to anyone)."
        )
    if (
        SECRET_KEY == DEVELOPMENT_SECRET_KEY
        or SECRET_KEY.startswith("django-insecure")
        or len(SECRET_KEY) < 50
        or len(set(SECRET_KEY)) < 5
    ):
        refusals.append(
            "SECRET_KEY is unset, the development default or weak: set it to 50 or more random characters, "
            "e.g. SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(50))')."
        )
    if not ALLOWED_HOSTS:
        refusals.append(
            "ALLOWED_HOSTS is empty: set it to the host names the app answers to, e.g. labels.example.org."
        )
    return refusals


if PRODUCTION and production_refusals():
    raise ImproperlyConfigured(
        "LABELAPP_ENV=production refuses to start:\n- " + "\n- ".join(production_refusals())
    )

# HTTPS. Secure cookies are on in production (over plain HTTP, browsers keep them for localhost only).
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = env_bool("SECURE_COOKIES", PRODUCTION)
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = CSRF_COOKIE_SAMESITE = "Lax"
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
if env_bool("SECURE_PROXY_SSL_HEADER", False):  # behind a TLS proxy that sets X-Forwarded-Proto
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "csp",
    "axes",
    "template_partials",
    "django_htmx",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "labelapp",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.auth.middleware.LoginRequiredMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "labelapp.middleware.ApplicationErrorMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks: turns a lockout into the login page
]

# Every page passes this policy: scripts and styles come only from /static/ (htmx is vendored there), with
# no inline <script>, style attribute or eval; base.html turns off htmx's injected indicator style.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

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
            ],
        },
    }
]

# Connections live 60 s across requests; each is checked before a request reuses it, so after a database
# restart the next request reconnects instead of failing on a dead connection.
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{VAR_DIR / 'db.sqlite3'}"),
        conn_max_age=60,
        conn_health_checks=True,
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # WAL lets the worker write candidates while the web process reads; IMMEDIATE avoids lock upgrades.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [{"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"}]
AUTHENTICATION_BACKENDS = [
    "labelapp.login_throttle.LoginThrottleBackend",  # refuses logins while locked out (django-axes)
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling (django-axes, in the database: SQLite and PostgreSQL alike). After LOGIN_FAILURE_LIMIT
# failed logins for one username from one address, that pair is locked out for LOGIN_LOCKOUT_MINUTES.
AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_LOCKOUT_MINUTES", 15))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "labelapp.login_throttle.lockout_response"
AXES_VERBOSE = False
AXES_ENABLE_ACCESS_FAILURE_LOG = True  # each failed login, kept for the admin (Access failures)
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT", BASE_DIR / "staticfiles"))
# WhiteNoise serves /static/ from any process (gunicorn too). Production serves the hashed, compressed
# files `collectstatic` wrote, cached for a year; development reads static/ directly.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if PRODUCTION
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
WHITENOISE_USE_FINDERS = WHITENOISE_AUTOREFRESH = not PRODUCTION  # development: looked up per request

# Throttle counters live in the cache: set CACHE_URL (redis://...) when more than one process serves.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": os.environ["CACHE_URL"]}
    if os.environ.get("CACHE_URL")
    else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

REST_FRAMEWORK = {
    # Token first, so a request without credentials is told 401 with `WWW-Authenticate: Token`.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    # JSON bodies refused with a 400 when too deep to parse or holding text that cannot be stored.
    "DEFAULT_PARSER_CLASSES": [
        "labelapp.parsers.UserJSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    # Per user, token or session (every endpoint needs a login: an anonymous request is refused before this);
    # API_RATE_USER=none turns it off.
    "DEFAULT_THROTTLE_CLASSES": ["rest_framework.throttling.UserRateThrottle"],
    "DEFAULT_THROTTLE_RATES": {"user": env_rate("API_RATE_USER", "600/min")},
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "labelapp.apis.application_exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "labelapp API",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "PATH_CONVERTER_OVERRIDES": {
        "id": {"type": "integer", "minimum": 0, "maximum": 999_999_999_999_999_999},
        "name": str,
    },
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "labelapp.openapi.error_responses",
    ],
}

CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", f"sqla+sqlite:///{VAR_DIR / 'celery-broker.sqlite3'}")
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_TASK_ROUTES = {
    "labelapp.tasks.generation_job_run_task": {"queue": "inference"},
    "labelapp.tasks.judge_job_run_task": {"queue": "inference"},
    "labelapp.tasks.embedding_job_run_task": {"queue": "inference"},  # loads the embedding model
}
CELERY_TASK_DEFAULT_QUEUE = "default"
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True

LABELAPP_EXPORT_DIR = Path(os.environ.get("LABELAPP_EXPORT_DIR", VAR_DIR / "exports"))

# Uploads to import (manage page, API) run inside the request, holding the import's one transaction (on
# SQLite, the database's write lock) until they are stored: larger files go through `import_dataset`.
LABELAPP_IMPORT_UPLOAD_MAX_BYTES = env_int("LABELAPP_IMPORT_UPLOAD_MAX_BYTES", 50_000_000)

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"axes": {"level": "WARNING"}},  # lockouts, not every login
}
