"""Settings shared by every environment, read from the environment with django-environ.

Without ``DATABASE_URL`` Tandem runs on an embedded SQLite file, and without ``REDIS_URL``
its Celery broker is kombu's filesystem transport, so ``make run`` needs no external service.
"""

from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF

BASE_DIR = Path(__file__).resolve().parent.parent.parent
VAR_DIR = Path(environ.Env().str("TANDEM_VAR_DIR", default=str(BASE_DIR / "var")))

env = environ.Env()

DEBUG = env.bool("DJANGO_DEBUG", default=False)
SECRET_KEY = env.str("DJANGO_SECRET_KEY", default="")
ALLOWED_HOSTS = env.list("DJANGO_ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])

INSTALLED_APPS = [
    # Before the admin, as django-modeltranslation requires: per-language vocabulary labels.
    "modeltranslation",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "guardian",
    "django_celery_beat",
    "django_htmx",
    "axes",
    "csp",
    # Optional two-step sign-in for staff: time-based one-time codes (mentoring.two_step).
    "django_otp",
    "django_otp.plugins.otp_totp",
    "mentoring.apps.MentoringConfig",
    "matching.apps.MatchingConfig",
    "sessions.apps.SessionsConfig",
    "reports.apps.ReportsConfig",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Marks a session whose sign-in was confirmed with a one-time code (request.user.is_verified()).
    "django_otp.middleware.OTPMiddleware",
    "config.middleware.UserLanguageMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "config.middleware.SessionLifetimeMiddleware",
    "config.middleware.NoStoreMiddleware",
    # Last, as django-axes requires: it turns a locked-out sign-in into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "config" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "sessions.context_processors.inbox",
            ],
        },
    },
]

# Database: PostgreSQL from DATABASE_URL, else an embedded SQLite file. SQLite waits for
# locks and takes its write lock at BEGIN so the web server and the worker can share it.
DATABASES = {"default": env.db_url("DATABASE_URL", default=f"sqlite:///{VAR_DIR / 'tandem.sqlite3'}")}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(
        {
            "timeout": 30,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        }
    )
else:
    DATABASES["default"]["CONN_MAX_AGE"] = env.int("DJANGO_CONN_MAX_AGE", default=60)
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_USER_MODEL = "mentoring.User"
AUTHENTICATION_BACKENDS = [
    # First: refuses every sign-in of a locked-out username and IP, even with the right password.
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
    "guardian.backends.ObjectPermissionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# guardian: no anonymous user row; Tandem never grants anything to anonymous visitors.
ANONYMOUS_USER_NAME = None

# Sessions end after 30 minutes without a request and 12 hours after sign-in whatever the
# activity (config.middleware.SessionLifetimeMiddleware). The server-side expiry moves forward
# at most once a minute, not on every request (SESSION_SAVE_EVERY_REQUEST would write the row
# on each one), so a session ends 29 to 30 idle minutes after its last request.
SESSION_COOKIE_AGE = 30 * 60
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
TANDEM_SESSION_REFRESH_INTERVAL = 60
TANDEM_SESSION_ABSOLUTE_AGE = 12 * 60 * 60
# Every response under this prefix is sent with Cache-Control: no-store (config.middleware).
TANDEM_API_PATH_PREFIX = "/api/"

# django-axes: five failed sign-ins for one username from one IP address lock that pair out for
# 15 minutes; another failure during the lockout starts the 15 minutes again. The IP address is
# REMOTE_ADDR (axes' default), never a header a client could forge.
AXES_VERBOSE = False  # no banner on every start of manage.py, the worker and the tests
AXES_FAILURE_LIMIT = 5
AXES_COOLOFF_TIME = timedelta(minutes=15)
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# What axes stores of a failed attempt's form: never the one-time code of the second step.
AXES_SENSITIVE_PARAMETERS = ["username", "ip_address", "code"]

# Two-step sign-in (mentoring.two_step): a staff member may add an authenticator app; after the
# password they then give its 6-digit code within TANDEM_TWO_STEP_PENDING_SECONDS, and five wrong
# codes end the attempt (each one counts as a failed sign-in for django-axes as well).
OTP_TOTP_ISSUER = "Tandem"
# The admin lists staff members' devices (to remove a lost one) but never shows their keys.
OTP_ADMIN_HIDE_SENSITIVE_DATA = True
TANDEM_TWO_STEP_PENDING_SECONDS = 5 * 60
TANDEM_TWO_STEP_MAX_WRONG_CODES = 5

# Content Security Policy (django-csp): only Tandem's own scripts, styles and images; no inline
# script anywhere. The one inline style allowed is the one htmx 2 inserts for its request
# indicators (".htmx-indicator{opacity:0;...}"), by its hash. Swagger UI (/api/v1/docs/) is
# left out: it runs an inline script and loads its bundle from a CDN, and shows no personal data.
CONTENT_SECURITY_POLICY = {
    "EXCLUDE_URL_PREFIXES": ["/api/v1/docs/"],
    "DIRECTIVES": {
        "default-src": [SELF],
        "style-src": [SELF, "'sha256-faU7yAF8NxuMTNEwVmBz+VcYeIoBQ2EMHW3WaVxCvnk='"],
        "object-src": [NONE],
        "base-uri": [NONE],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

LANGUAGE_CODE = "en"
LANGUAGES = [
    ("en", "English"),
    ("nl", "Nederlands"),
    ("hu", "Magyar"),
    ("pt", "Português"),
    ("ro", "Română"),
    ("es", "Español"),
]
# The interface's catalogues (``make messages`` updates them); a signed-in user's own choice
# (User.interface_language) wins over the cookie and the browser's Accept-Language.
LOCALE_PATHS = [BASE_DIR / "locale"]
# Dates on pages use the locale's DATE_FORMAT / DATETIME_FORMAT (hu: 2026. december 3.).
FORMAT_MODULE_PATH = ["config.formats"]
LANGUAGE_COOKIE_AGE = 365 * 24 * 60 * 60
LANGUAGE_COOKIE_SAMESITE = "Lax"
# Programme vocabularies (backgrounds, needs, outcome instruments) hold a label per language;
# where one is missing the first label found in this order is shown.
MODELTRANSLATION_DEFAULT_LANGUAGE = "en"
MODELTRANSLATION_FALLBACK_LANGUAGES = ("en", "nl", "hu", "pt", "ro", "es")
TIME_ZONE = env.str("TANDEM_TIME_ZONE", default="Europe/Brussels")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "config" / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# REST API: one error shape, documented in config/api.py.
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "config.api.exception_handler",
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Tandem API",
    "DESCRIPTION": (
        "Case management for mentoring programmes that pair volunteer mentors with migrant "
        "and disadvantaged families. Errors have one shape everywhere: "
        '`{"errors": [{"field": <name or null>, "code": <code>, "message": <text>}]}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "SCHEMA_PATH_PREFIX": r"/api/v1",
    "COMPONENT_SPLIT_REQUEST": True,
    # drf-spectacular names an enum after its field; a choice set used by several serializers
    # (or two sets behind one field name) gets one stable name here instead of a hash.
    "ENUM_NAME_OVERRIDES": {
        "MenteeKindEnum": "mentoring.models.Mentee.Kind",
        "MenteeStatusEnum": "mentoring.models.Mentee.Status",
        "MentorStatusEnum": "mentoring.models.Mentor.Status",
        "ConsentPurposeEnum": "mentoring.models.ConsentPurpose",
        "ModeEnum": "sessions.models.SessionMode",
        "ReportSnapshotKindEnum": "reports.models.ReportSnapshot.Kind",
        "ConcernKindEnum": "sessions.models.Concern.Kind",
    },
}

# Celery: Redis when REDIS_URL is set, else a broker in files under var/ that needs no server.
REDIS_URL = env.str("REDIS_URL", default="")
# Redis redelivers a message not acknowledged within the visibility timeout (tasks ack late,
# after running): every task is killed (hard limit) a margin before that, so no task that is
# still running is ever delivered to a second worker. The soft limit lets a task fail cleanly.
TANDEM_CELERY_VISIBILITY_TIMEOUT = 60 * 60
# A task sent but not finished by a worker within this many seconds is sent again by the outbox
# sweeper (its message was lost with the broker's queue); tasks are idempotent.
TANDEM_OUTBOX_RESEND_AFTER = env.int("TANDEM_OUTBOX_RESEND_AFTER", default=TANDEM_CELERY_VISIBILITY_TIMEOUT)
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": TANDEM_CELERY_VISIBILITY_TIMEOUT}
else:
    _broker_dir = VAR_DIR / "broker"
    CELERY_BROKER_URL = "filesystem://"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "out"),
        "data_folder_out": str(_broker_dir / "out"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
    }
    for _folder in ("out", "processed", "control"):
        (_broker_dir / _folder).mkdir(parents=True, exist_ok=True)
CELERY_RESULT_BACKEND = None
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = TANDEM_CELERY_VISIBILITY_TIMEOUT // 2  # a report at scale takes minutes
CELERY_TASK_SOFT_TIME_LIMIT = CELERY_TASK_TIME_LIMIT - 5 * 60
# The outbox's sweeper task lives outside the autodiscovered ``tasks`` modules.
CELERY_IMPORTS = ["mentoring.tasks_outbox"]
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
# Months after a mentee's or mentor's closure before their record is erased, unless the
# programme sets its own ``retention_months``.
TANDEM_RETENTION_MONTHS = env.int("TANDEM_RETENTION_MONTHS", default=24)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BEAT_SCHEDULE = {
    # Tasks the broker refused when their rows were committed (mentoring.outbox).
    "outbox-sweep-every-minute": {
        "task": "mentoring.tasks_outbox.outbox_sweep_task",
        "schedule": crontab(),
    },
    "refresh-participation-snapshots-nightly": {
        "task": "reports.tasks.snapshot_refresh_all_task",
        "schedule": crontab(hour=2, minute=15),
    },
    # Match health (sessions.tasks): hourly through the working day, not at night. Drift and
    # overdue logs count in days, so the 07:05 run finds each day's new ones before the
    # coordinators start; a concern crossing its 48-hour mark is flagged within the hour rather
    # than the next morning. Every run is idempotent (a flag and its reminder go out once), and
    # no reminder e-mail is sent to a volunteer in the middle of the night.
    "match-health-hourly-daytime": {
        "task": "sessions.tasks.match_health_task",
        "schedule": crontab(minute=5, hour="7-20"),
    },
    # Data-subject rights (mentoring.privacy): erase people whose retention period has passed.
    # ``manage.py apply_retention --dry-run`` shows what a run would erase.
    "apply-retention-nightly": {
        "task": "mentoring.tasks.retention_apply_task",
        "schedule": crontab(hour=3, minute=40),
    },
}

if REDIS_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}}
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

EMAIL_BACKEND = env.str("DJANGO_EMAIL_BACKEND", default="django.core.mail.backends.console.EmailBackend")
DEFAULT_FROM_EMAIL = env.str("DJANGO_DEFAULT_FROM_EMAIL", default="tandem@localhost")

# Tandem's own rules.
TANDEM_DEFAULT_SMALL_CELL_K = 10
TANDEM_MIN_SMALL_CELL_K = 5

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": env.str("DJANGO_LOG_LEVEL", default="INFO")},
}
