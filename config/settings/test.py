"""Settings for the test suite: SQLite in memory unless DATABASE_URL names PostgreSQL."""

from .base import *  # noqa: F403
from .base import DATABASES, REDIS_URL, env

DEBUG = False
SECRET_KEY = "test-key-not-for-production"  # noqa: S105
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# django-axes refuses ``authenticate()`` without a request, which some tests call; it is off
# here (its documented switch for test runs) and tests/test_security.py turns it back on.
AXES_ENABLED = False

if not env.str("DATABASE_URL", default=""):
    DATABASES["default"] = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": ":memory:",
        "OPTIONS": {"timeout": 30},
    }
DATABASES["default"]["CONN_MAX_AGE"] = 0

# Tests that need a worker start one on this broker: Redis when REDIS_URL is set, else
# kombu's in-memory transport, which a worker in the test process can consume.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600} if REDIS_URL else {}
CELERY_BEAT_SCHEDULER = "celery.beat:PersistentScheduler"
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

# Tests serve static files through the finders, as runserver does; there is no collectstatic.
WHITENOISE_AUTOREFRESH = True
WHITENOISE_USE_FINDERS = True
