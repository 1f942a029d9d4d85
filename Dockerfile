FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=config.settings.production \
    NUMBA_CACHE_DIR=/home/tandem/.cache/numba

WORKDIR /app
RUN useradd --create-home --uid 1000 tandem
COPY pyproject.toml README.md ./
COPY config ./config
COPY mentoring ./mentoring
COPY matching ./matching
COPY sessions ./sessions
COPY reports ./reports
COPY locale ./locale
COPY manage.py Procfile ./
RUN pip install . \
    && DJANGO_SECRET_KEY=build-only DJANGO_ALLOWED_HOSTS=localhost DATABASE_URL=sqlite:////tmp/build.sqlite3 \
       python manage.py collectstatic --noinput
USER tandem
# Batch matching's compiled inner loops, built once into the image.
RUN python -m matching.flow
EXPOSE 8000
CMD ["gunicorn", "config.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3", "--access-logfile", "-"]
