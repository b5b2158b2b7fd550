"""Production mode, in fresh processes: it refuses development values, and serves pages and static files
the way a deployment does (secure cookies, HSTS, CSP, hashed static files from WhiteNoise)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
GOOD_SECRET = "s3cr3t-" + "k" * 30 + "abcdefghijklmnop"
PRODUCTION = {"LABELAPP_ENV": "production", "SECRET_KEY": GOOD_SECRET, "ALLOWED_HOSTS": "labels.example.org"}
SETTINGS_VARS = {
    "LABELAPP_ENV",
    "DEBUG",
    "SECRET_KEY",
    "ALLOWED_HOSTS",
    "CSRF_TRUSTED_ORIGINS",
    "SECURE_COOKIES",
    "SECURE_HSTS_SECONDS",
    "API_RATE_USER",
    "CACHE_URL",
    "STATIC_ROOT",
    "DATABASE_URL",
}


def run_python(script: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run `script` in a new process, with only `env` set of the settings' variables."""
    clean = {name: value for name, value in os.environ.items() if name not in SETTINGS_VARS}
    clean |= {"DJANGO_SETTINGS_MODULE": "config.settings", "LABELAPP_VAR_DIR": str(tmp_path / "var")} | env
    return subprocess.run(
        [sys.executable, "-c", script], cwd=REPO, env=clean, capture_output=True, text=True, timeout=120
    )


def run_django(code: str, env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    """Run `code` after django.setup()."""
    return run_python(
        "import django, json\ndjango.setup()\nfrom django.conf import settings\n" + code, env, tmp_path
    )


def settings_import(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess[str]:
    return run_python("import config.settings", env, tmp_path)


def refusal(env: dict[str, str], tmp_path: Path) -> str:
    result = settings_import(env, tmp_path)
    assert result.returncode != 0, "production mode started with development settings"
    assert "ImproperlyConfigured: LABELAPP_ENV=production refuses to start" in result.stderr
    return result.stderr


def test_production_without_settings_names_each_variable_to_set(tmp_path):
    message = refusal({"LABELAPP_ENV": "production"}, tmp_path)
    assert "SECRET_KEY is unset, the development default or weak" in message
    assert "ALLOWED_HOSTS is empty" in message
    assert "DEBUG is on" not in message  # production's default is DEBUG off


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"DEBUG": "1"}, "DEBUG is on"),
        ({"SECRET_KEY": "insecure-embedded-default-change-me"}, "SECRET_KEY"),
        ({"SECRET_KEY": "too-short-" + "x" * 20}, "SECRET_KEY"),
        ({"SECRET_KEY": "django-insecure-" + "abcdefgh" * 6}, "SECRET_KEY"),
        ({"ALLOWED_HOSTS": " , "}, "ALLOWED_HOSTS"),
    ],
)
def test_production_refuses_one_development_value(tmp_path, override, named):
    message = refusal(PRODUCTION | override, tmp_path)
    assert named in message.split("refuses to start:")[1]
    assert message.count("\n- ") == 1, "only the bad variable is named"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"API_RATE_USER": "lots"}, "API_RATE_USER must look like 600/min"),
        ({"SECURE_HSTS_SECONDS": "a year"}, "SECURE_HSTS_SECONDS must be a whole number"),
        ({"LABELAPP_ENV": "prod"}, "LABELAPP_ENV must be development or production, not 'prod'"),
    ],
)
def test_a_malformed_variable_is_named(tmp_path, env, message):
    result = settings_import(env, tmp_path)
    assert result.returncode != 0 and message in result.stderr


def test_production_settings_from_the_environment(tmp_path):
    env = PRODUCTION | {
        "CSRF_TRUSTED_ORIGINS": "https://labels.example.org, https://other.example.org",
        "SECURE_HSTS_SECONDS": "31536000",
        "API_RATE_USER": "100/hour",
        "CACHE_URL": "redis://127.0.0.1:6379/1",
    }
    names = [
        "DEBUG",
        "ALLOWED_HOSTS",
        "CSRF_TRUSTED_ORIGINS",
        "SESSION_COOKIE_SECURE",
        "CSRF_COOKIE_SECURE",
        "SECURE_HSTS_SECONDS",
    ]
    code = (
        f"values = {{name: getattr(settings, name) for name in {names!r}}}\n"
        "values['rates'] = settings.REST_FRAMEWORK['DEFAULT_THROTTLE_RATES']\n"
        "values['cache'] = settings.CACHES['default']['BACKEND']\n"
        "values['static'] = settings.STORAGES['staticfiles']['BACKEND']\n"
        "print(json.dumps(values))"
    )
    result = run_django(code, env, tmp_path)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == {
        "DEBUG": False,
        "ALLOWED_HOSTS": ["labels.example.org"],
        "CSRF_TRUSTED_ORIGINS": ["https://labels.example.org", "https://other.example.org"],
        "SESSION_COOKIE_SECURE": True,
        "CSRF_COOKIE_SECURE": True,
        "SECURE_HSTS_SECONDS": 31536000,
        "rates": {"user": "100/hour"},
        "cache": "django.core.cache.backends.redis.RedisCache",
        "static": "whitenoise.storage.CompressedManifestStaticFilesStorage",
    }


def test_a_production_process_serves_the_login_page_and_hashed_static_files(tmp_path):
    env = PRODUCTION | {
        "ALLOWED_HOSTS": "testserver",
        "STATIC_ROOT": str(tmp_path / "static"),
        "SECURE_HSTS_SECONDS": "3600",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
    }
    collected = run_django(
        "from django.core.management import call_command\ncall_command('collectstatic', '--noinput', verbosity=0)",
        env,
        tmp_path,
    )
    assert collected.returncode == 0, collected.stderr
    code = """
import re
from django.test import Client
client = Client()
page = client.get("/accounts/login/", secure=True)
css = re.search(r'href="(/static/css/app\\.[0-9a-f]{12}\\.css)"', page.content.decode()).group(1)
htmx = re.search(r'src="(/static/vendor/htmx-2\\.0\\.8\\.min\\.[0-9a-f]{12}\\.js)"', page.content.decode()).group(1)
static = client.get(css, secure=True)
print(json.dumps({
    "status": page.status_code,
    "csp": page.headers.get("Content-Security-Policy"),
    "hsts": page.headers.get("Strict-Transport-Security"),
    "csrf_cookie_secure": page.cookies["csrftoken"]["secure"],
    "static_status": static.status_code,
    "static_cache": static.headers.get("Cache-Control"),
    "htmx_status": client.get(htmx, secure=True).status_code,
    "missing": client.get("/no-such-page/", secure=True).content.decode(),
}))
"""
    result = run_django(code, env, tmp_path)
    assert result.returncode == 0, result.stderr
    served = json.loads(result.stdout)
    assert served["status"] == 200 and served["csrf_cookie_secure"] is True
    assert "script-src 'self'" in served["csp"] and "style-src 'self'" in served["csp"]
    assert "unsafe-inline" not in served["csp"] and "unsafe-eval" not in served["csp"]
    assert served["hsts"] == "max-age=3600"
    assert served["static_status"] == 200 and served["htmx_status"] == 200
    assert "immutable" in served["static_cache"]  # hashed names: browsers cache them for good
    assert "URLconf" not in served["missing"] and "Not Found" in served["missing"]  # no debug page


DEVELOPMENT_PAGES = """
from django.test import Client
client = Client(HTTP_HOST="127.0.0.1:8000")  # where `make run` serves
page = client.get("/accounts/login/")
print(json.dumps({
    "debug": settings.DEBUG,
    "status": page.status_code,
    "css": client.get("/static/css/app.css").status_code,
    "htmx": client.get("/static/vendor/htmx-2.0.8.min.js").status_code,
    "missing": client.get("/no-such-page/").content.decode(),
}))
"""


@pytest.mark.parametrize(("env", "debug"), [({}, False), ({"DEBUG": "0"}, False), ({"DEBUG": "1"}, True)])
def test_development_shows_debug_pages_only_to_whoever_sets_debug_and_serves_static_files_either_way(
    tmp_path, env, debug
):
    """`make run` runs development mode: a traceback there would be shown to labellers, so DEBUG=1 asks."""
    result = run_django(
        DEVELOPMENT_PAGES, env | {"DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}"}, tmp_path
    )
    assert result.returncode == 0, result.stderr
    served = json.loads(result.stdout)
    assert served["debug"] is debug and served["status"] == 200
    assert served["css"] == 200 and served["htmx"] == 200  # WhiteNoise, from static/ directly
    assert ("URLconf" in served["missing"]) is debug  # Django's technical 404 page only with DEBUG=1
