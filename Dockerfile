# SPUCSVi container image.
#
#   docker build -t spucsvi:latest .
#   docker run --rm -p 8322:8322 -e SPUC_URL=http://spuc:8321 spucsvi:latest
#
# Two stages: the builder turns the source into wheels (ours and every
# dependency); the final stage installs those wheels and nothing else, so no
# source tree, build tools or pip caches end up in the image we ship.
#
# No `# syntax=docker/dockerfile:1` line: it makes BuildKit pull its frontend
# image from Docker Hub before building, which fails offline and behind many
# firewalls. The frontend built into the engine handles everything below.

# Both stages use the same pinned patch release (tests/test_container.py
# checks), so a rebuild next month gets the same Python as today.
# --------------------------------------------------------------------------
FROM python:3.12.12-slim-bookworm AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src

# Only what the wheel build needs (.dockerignore keeps everything else out).
COPY pyproject.toml README.md ./
COPY spucsvi/ spucsvi/
COPY templates/ templates/
COPY static/ static/

# Our wheel plus wheels of all its dependencies, into /wheels. The final stage
# installs from there without touching the network.
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

# --------------------------------------------------------------------------
FROM python:3.12.12-slim-bookworm

ARG SPUCSVI_VERSION=1.0.0
# Where the source lives; pass --build-arg SPUCSVI_SOURCE=<repository URL>.
ARG SPUCSVI_SOURCE=https://github.com/spuacv/spucsvi

LABEL org.opencontainers.image.title="SPUCSVi" \
      org.opencontainers.image.description="SPUC Super Visualiser: register and see space purple unicorn sightings recorded by SPUC" \
      org.opencontainers.image.version="${SPUCSVI_VERSION}" \
      org.opencontainers.image.source="${SPUCSVI_SOURCE}" \
      org.opencontainers.image.licenses="MIT"

ENV PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    SPUC_URL=http://spuc:8321

# A fixed, unprivileged account. The numeric UID/GID is what USER names below,
# so Kubernetes' runAsNonRoot and similar checks can verify it.
# /run/spucsvi is where replicas share their submission lock (a volume there,
# SPUCSVI_SUBMIT_LOCK=/run/spucsvi/submit.lock; see compose.replicas.yml): a
# new volume takes this folder's owner, so user 10001 can create the lock even
# though the root filesystem is read-only.
RUN groupadd --system --gid 10001 spucsvi \
    && useradd --system --no-log-init --uid 10001 --gid 10001 \
       --home-dir /nonexistent --no-create-home --shell /usr/sbin/nologin spucsvi \
    && install -d -o 10001 -g 10001 -m 0750 /run/spucsvi

# The wheels are bind-mounted from the builder for this one step, so they never
# become a layer of the final image.
# plotly.js is vendored in static/ (its basic bundle): the plotly Python
# package is not installed at all.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    pip install --no-cache-dir --no-index --find-links=/wheels /wheels/spucsvi-*.whl

WORKDIR /app
COPY gunicorn.conf.py ./

USER 10001:10001

EXPOSE 8322

# Slim images have no curl: ask the liveness endpoint with Python itself.
# urlopen raises on a refused connection, a timeout or any 4xx/5xx, so the
# check exits non-zero exactly when /healthz does not answer 2xx.
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8322/healthz', timeout=2)"]

# Exec form: gunicorn is PID 1 and receives SIGTERM from `docker stop` itself,
# then finishes in-flight requests before exiting.
CMD ["gunicorn", "--config", "gunicorn.conf.py", "spucsvi:create_app()"]
