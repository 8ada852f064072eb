# Tocsin's image: the dependencies pinned and hash-checked by requirements.lock (scripts/lock makes it),
# the code under /app owned by root, the process as the unprivileged user tocsin, the default SQLite
# database in the /data volume. docs/operations.md explains how to run it.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PYTHONPATH=/app \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# postgresql-client: pg_dump and pg_restore for `tocsin backup` and `tocsin restore`.
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/* \
    && groupadd --system --gid 10001 tocsin \
    && useradd --system --uid 10001 --gid tocsin --home-dir /data --no-create-home --shell /usr/sbin/nologin tocsin \
    && install -d -o tocsin -g tocsin -m 0750 /data

WORKDIR /app
COPY requirements.lock ./
RUN pip install --require-hashes --no-deps -r requirements.lock

COPY alembic.ini ./
COPY alembic ./alembic
COPY bot ./bot
COPY storage ./storage
COPY escalation ./escalation
# The code runs from /app as it does from a checkout (migrations live in /app/alembic): no install step.
RUN printf '#!/bin/sh\nexec python -m bot "$@"\n' > /usr/local/bin/tocsin && chmod 0755 /usr/local/bin/tocsin \
    && python -m compileall -q /app/bot /app/storage /app/escalation /app/alembic

USER tocsin
WORKDIR /data
VOLUME ["/data"]
ENV TOCSIN_DATABASE_URL=sqlite:////data/tocsin.db \
    TOCSIN_HOST=0.0.0.0 \
    TOCSIN_PORT=8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=5 \
    CMD ["python", "-c", "import os, urllib.request; urllib.request.urlopen('http://127.0.0.1:%s/healthz' % os.environ['TOCSIN_PORT'], timeout=2)"]
ENTRYPOINT ["tocsin"]
CMD ["serve"]
