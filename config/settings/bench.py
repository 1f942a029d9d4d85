"""Settings of the gunicorn process that ``python -m sessions.bench`` starts, and of nothing else.

Production's settings (DEBUG off, persistent connections, its middleware), served over plain
HTTP on the loopback, with the benchmark's URLconf: every normal URL plus the bare endpoint
``POST /bench/bare-session-log/`` the session-log endpoint is compared with. Normal settings
never route that endpoint.
"""

import os
import warnings

# Production reads these from the environment and refuses to start without them; the bench
# server only listens on 127.0.0.1, so fixed values are enough.
os.environ.setdefault("DJANGO_SECRET_KEY", "session-log-bench-key-not-for-production")
os.environ.setdefault("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost")
os.environ.setdefault("DJANGO_SECURE_SSL_REDIRECT", "false")

from .production import *  # noqa: E402, F403

ROOT_URLCONF = "config.bench_urls"
# No collectstatic for a benchmark: the API serves no static files.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Without collectstatic there is no STATIC_ROOT; whitenoise warns about it in every worker.
warnings.filterwarnings("ignore", message="No directory at", module="django.core.handlers.base")
# Only errors: the readiness probe's refused GET and the runs' requests need no log lines.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "ERROR"},
    "loggers": {"django": {"level": "ERROR"}},
}
