"""Settings, all from the environment (12-factor), with safe defaults for the embedded mode only.

Embedded mode (no DATABASE_URL, no REDIS_URL): SQLite under var/ and Celery in eager mode.
Production: DATABASE_URL=postgres://..., REDIS_URL=redis://..., DEBUG=0 and a real SECRET_KEY.
"""

import importlib.util
from datetime import timedelta
from pathlib import Path

import environ
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = BASE_DIR / "var"

env = environ.Env()
environ.Env.read_env(BASE_DIR / ".env")

DEBUG = env.bool("DEBUG", default=False)
EMBEDDED_SECRET_KEY = "embedded-mode-only-not-a-secret"  # noqa: S105 - refused in production
SECRET_KEY = env.str("SECRET_KEY", default=EMBEDDED_SECRET_KEY)
# Embedded: the SQLite file database (default, or an explicit sqlite:// URL); never production.
EMBEDDED = env.str("DATABASE_URL", default="sqlite://").startswith("sqlite")
if SECRET_KEY == EMBEDDED_SECRET_KEY and not (DEBUG or EMBEDDED):
    raise ImproperlyConfigured(
        "SECRET_KEY must be set when DEBUG is off and DATABASE_URL names a database server."
    )

ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "accounts.admin_site.OpsAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "axes",
    "csp",
    "funnel",
    "integrations",
    "qualification",
    "feedback",
    "alignment",
    "kpi_dashboard",
    "accounts",
    "dashboard",
    "records",
    "reports",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "accounts.middleware.RejectNulMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "accounts.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "alignment.usage.PageViewMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",  # last, as django-axes asks
]

ROOT_URLCONF = "kpi_dashboard.urls"
WSGI_APPLICATION = "kpi_dashboard.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'kpi_bridge.sqlite3'}")
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    VAR_DIR.mkdir(exist_ok=True)
    # Several writers (web + eager tasks) share one file: wait for locks instead of failing.
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 30
elif DATABASES["default"]["ENGINE"].startswith("django.db.backends.postgresql"):
    # No JIT compilation: above a planner cost that the KPI passes exceed at 1M persons,
    # PostgreSQL compiles a query to machine code and spends more doing so than it saves
    # (a third of the database time of a KPI snapshot; bench/README.md).
    options = DATABASES["default"].setdefault("OPTIONS", {})
    options["options"] = f"{options.get('options', '')} -c jit=off".strip()
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Login throttling (django-axes): after LOGIN_FAILURE_LIMIT wrong passwords for one account,
# or from one address, that account or address waits LOGIN_COOLOFF_MINUTES. An ops admin
# lifts a lock early with `manage.py axes_reset_username NAME` (or axes_reset).
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", default=10)
AXES_COOLOFF_TIME = timedelta(minutes=env.int("LOGIN_COOLOFF_MINUTES", default=15))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]  # each on its own: per account, per address
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_CALLABLE = "accounts.views.locked_out"
AXES_IPWARE_PROXY_COUNT = env.int("PROXY_COUNT", default=0)  # proxies in front (X-Forwarded-For)
AXES_VERBOSE = False

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Internationalisation: Japanese first, English; follows the browser, switchable.
LANGUAGE_CODE = "ja"
LANGUAGES = [("ja", _("Japanese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
USE_I18N = True
USE_TZ = True

# The company: time zone periods are cut in, fiscal year start month, currency (kpi-spec 1, 3).
COMPANY_TIME_ZONE = env.str("COMPANY_TIME_ZONE", default="Asia/Tokyo")
TIME_ZONE = COMPANY_TIME_ZONE
FISCAL_YEAR_START_MONTH = env.int("FISCAL_YEAR_START_MONTH", default=4)
COMPANY_CURRENCY = env.str("COMPANY_CURRENCY", default="JPY")
# Business days sales has to follow up an MQL (kpi-spec 3, MQL follow-up SLA).
MQL_SLA_BUSINESS_DAYS = env.int("MQL_SLA_BUSINESS_DAYS", default=2)
# National holidays of this country are days off, besides the company's own (admin).
HOLIDAY_COUNTRY = env.str("HOLIDAY_COUNTRY", default="JP")
if not 1 <= FISCAL_YEAR_START_MONTH <= 12:
    raise ImproperlyConfigured("FISCAL_YEAR_START_MONTH must be 1..12.")

STATIC_URL = "static/"
# plotly.js is served from our own static files (never a CDN): the installed plotly package's
# package_data holds the plotly.min.js that matches the figures it builds.
# Found without importing plotly (~30 ms of every command's start-up).
_plotly = importlib.util.find_spec("plotly")
assert _plotly is not None and _plotly.origin, "plotly is a dependency (pyproject.toml)"
PLOTLY_JS_DIR = Path(_plotly.origin).resolve().parent / "package_data"
STATICFILES_DIRS = [BASE_DIR / "static", ("vendor/plotly", PLOTLY_JS_DIR)]
STATIC_ROOT = Path(env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles")))
STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise serves collected files from here
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}

# Celery: a real broker when REDIS_URL is set, else tasks run eagerly in-process.
REDIS_URL = env.str("REDIS_URL", default="")
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or None
CELERY_TASK_ALWAYS_EAGER = env.bool("CELERY_TASK_ALWAYS_EAGER", default=not REDIS_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_ACKS_LATE = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TIMEZONE = COMPANY_TIME_ZONE
# A task taken by a worker that dies unacknowledged goes back to the queue after this many
# seconds (Redis has no other way to know): longer than the longest import or sync must run,
# or a live run's task would be handed out twice (claim_run then leaves it alone).
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": env.int("CELERY_VISIBILITY_TIMEOUT", default=3600)
}
# Fernet keys that encrypt connection credentials, newest first (integrations/secrets.py;
# README "Connections": rotation). The embedded mode derives one from SECRET_KEY.
CONNECTION_SECRET_KEYS = env.list("CONNECTION_SECRET_KEYS", default=[])
# A running sync run silent this long (its heartbeat stopped) is swept to failed.
SYNC_RUN_STALE_SECONDS = env.int("SYNC_RUN_STALE_SECONDS", default=120)
# CSV upload page (integrations/uploads.py): where uploaded files wait for their import (the
# worker must see the same directory), for how long unconfirmed, and how much one takes.
UPLOAD_DIR = Path(env.str("UPLOAD_DIR", default=str(VAR_DIR / "uploads")))
UPLOAD_KEEP_HOURS = env.int("UPLOAD_KEEP_HOURS", default=24)
CSV_UPLOAD_MAX_BYTES = env.int("CSV_UPLOAD_MAX_BYTES", default=200 * 1024 * 1024)
CSV_UPLOAD_MAX_FILES = env.int("CSV_UPLOAD_MAX_FILES", default=20)
# Results of the metrics kept per data version (funnel/metrics/kept.py): shared by the web
# processes and the worker through Redis when there is one, else kept per process.
CACHES = {
    "default": (
        {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "kpi-bridge",
            "TIMEOUT": 3600,
        }
        if REDIS_URL
        else {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "OPTIONS": {"MAX_ENTRIES": 1000},
        }
    )
}
CELERY_BEAT_SCHEDULE = {
    "sweep-dead-sync-runs": {"task": "integrations.tasks.sweep_dead_runs_task", "schedule": 60.0},
    "sync-due-connections": {
        "task": "integrations.tasks.sync_due_connections_task",
        "schedule": 60.0,
    },
    "record-checklist-score": {
        "task": "alignment.tasks.record_checklist_score_task",
        "schedule": 6 * 3600.0,
    },
    "check-alerts": {"task": "alignment.tasks.check_alerts_task", "schedule": 3600.0},
    "tidy-moment-sets": {
        "task": "qualification.tasks.tidy_moment_sets_task",
        "schedule": 24 * 3600.0,
    },
    # The dashboard as it opens, computed at the start of each minute while people look at
    # it (dashboard/tasks.py), so the first load of a minute is served from the cache.
    "warm-dashboard": {"task": "dashboard.tasks.warm_dashboard_task", "schedule": 60.0},
    # Hourly; it sends once per ISO week, so early on Monday.
    "weekly-digest": {"task": "alignment.tasks.send_digest_task", "schedule": 3600.0},
}
# Alerts and the weekly digest (alignment/alerts.py): mail through Django's settings; the
# embedded mode prints them on the console. SITE_URL makes the links in the mails.
SITE_URL = env.str("SITE_URL", default="http://127.0.0.1:8000")
EMAIL_BACKEND = env.str(
    "EMAIL_BACKEND",
    default="django.core.mail.backends.console.EmailBackend"
    if EMBEDDED or DEBUG
    else "django.core.mail.backends.smtp.EmailBackend",
)
EMAIL_HOST = env.str("EMAIL_HOST", default="localhost")
EMAIL_PORT = env.int("EMAIL_PORT", default=25)
EMAIL_HOST_USER = env.str("EMAIL_HOST_USER", default="")
EMAIL_HOST_PASSWORD = env.str("EMAIL_HOST_PASSWORD", default="")
EMAIL_USE_TLS = env.bool("EMAIL_USE_TLS", default=False)
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", default="kpi-bridge@localhost")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "COERCE_DECIMAL_TO_STRING": False,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "KPI Bridge API",
    "DESCRIPTION": "Shared sales and marketing KPIs (see docs: KPI specification).",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SERVE_PERMISSIONS": ["accounts.access.HasRole"],
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
if not DEBUG and not EMBEDDED:
    SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=True)
    CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=True)
# Behind TLS (README "Production"): redirect http to https and send HSTS. Off by default
# so that the embedded mode and a first start on http work; `check --deploy` says what to set.
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=False)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = env.bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", default=False)
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=False)
if env.bool("BEHIND_TLS_PROXY", default=False):  # the proxy says the request was https
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_REFERRER_POLICY = "same-origin"
# Content-Security-Policy (django-csp): scripts only from our own static files (plotly.js
# included), no inline script; styles also inline, as plotly.js sets style attributes on
# the charts it draws.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:", "blob:"],
        "font-src": [SELF, "data:"],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}
