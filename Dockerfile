# futures-rebalancer: the daemon in a slim, non-root image.
#
#   docker build -t futures-rebalancer .
#   docker run --rm --env-file rebalancer.env -v "$PWD/config.toml:/config/config.toml:ro" \
#       -v rebalancer-data:/var/lib/rebalancer futures-rebalancer
#
# Two stages: the first builds the wheel and installs it with its dependencies into a virtual
# environment; the second copies only that environment onto a fresh slim base, so no build
# tool, source tree or pip cache ends up in the image. See docs/deployment.md.

FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Only what the build needs (.dockerignore keeps the rest out of the context).
COPY pyproject.toml README.md ./
COPY src ./src
# `postgres` adds the psycopg driver for a PostgreSQL journal; SQLite needs nothing extra.
RUN python -m venv /opt/venv \
 && /opt/venv/bin/pip install ".[postgres]"

FROM python:3.11-slim
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1
# A dedicated, unprivileged user; its home holds the SQLite journal when one is used.
RUN groupadd --system --gid 10001 rebalancer \
 && useradd --system --uid 10001 --gid rebalancer --home-dir /var/lib/rebalancer \
        --create-home --shell /usr/sbin/nologin rebalancer
COPY --from=build /opt/venv /opt/venv
USER rebalancer:rebalancer
WORKDIR /var/lib/rebalancer
VOLUME ["/var/lib/rebalancer"]
# The [health] section's endpoint (enable it in the config): 200 while healthy, 503 when the
# circuit is open or cycles stopped; urlopen raises on 503, so the check fails then. It binds
# to 127.0.0.1 only, which is inside this container: the check runs here too.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:9478/healthz', timeout=4)"]
# The dashboard, when run instead of the daemon (`... futures-rebalancer web -c /config/config.toml`):
# it listens on 127.0.0.1, so inside this container it is reachable only from here unless the
# config says `[web] host = "0.0.0.0"`; then publish it on the host's loopback only, e.g.
# `-p 127.0.0.1:8478:8478`, and set REBALANCER_WEB_TOKEN to enable Halt and Resume.
EXPOSE 8478
# SIGTERM lets a running cycle finish its step (8 s grace); give `docker stop -t 15` or more.
STOPSIGNAL SIGTERM
ENTRYPOINT ["rebalancer"]
CMD ["run", "-c", "/config/config.toml"]
