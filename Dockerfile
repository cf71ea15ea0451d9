# syntax=docker/dockerfile:1
# One image per service, from this one file: the service is a build argument. Each image runs two
# processes: the default command is the service's gRPC `api`; its Kubernetes worker Deployment runs
# `onestop-<service>-worker` from the same image.
#
# Build from the repository root with `make image SERVICE=intake` (it passes the service's ports
# from libs/chassis/src/onestop_chassis/services.py), which runs:
#   docker build --build-arg SERVICE=intake --build-arg PORTS="50051 9151 9251 9351" \
#       -t ghcr.io/onestop-vn/onestop-intake:0.1.0 .
ARG PYTHON_IMAGE=python:3.11-slim

# ---- builder: generate the stubs from protos/ and build every wheel the service needs ----------
FROM ${PYTHON_IMAGE} AS builder
ARG SERVICE
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1
WORKDIR /src
RUN test -n "$SERVICE" || { echo "build with --build-arg SERVICE=<name> (see make image)" >&2; exit 1; }

# grpcio-tools (protoc) lives only in this stage.
COPY constraints.txt ./
RUN pip install -c constraints.txt grpcio-tools

COPY protos/ protos/
COPY third_party/ third_party/
COPY libs/ libs/
COPY services/${SERVICE}/ services/${SERVICE}/

# Wheels for the three local packages and, because pip wheel resolves dependencies, for every
# pinned third-party dependency too: the runtime stage then installs offline (--no-index).
RUN python libs/contracts/generate.py \
 && pip wheel -c constraints.txt --wheel-dir /wheels \
        ./libs/contracts ./libs/chassis ./services/${SERVICE}

# ---- runtime: the wheels only, no compilers, no grpcio-tools, not root ----------------------------
FROM ${PYTHON_IMAGE} AS runtime
ARG SERVICE
ARG PORTS
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1

# The wheels are bind-mounted from the builder (BuildKit), so they never become an image layer.
RUN --mount=type=bind,from=builder,source=/wheels,target=/wheels \
    --mount=type=bind,source=constraints.txt,target=/tmp/constraints.txt \
    pip install --no-index --find-links /wheels -c /tmp/constraints.txt onestop-${SERVICE} \
 && groupadd --system --gid 10001 onestop \
 && useradd --system --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
        --shell /usr/sbin/nologin onestop

# Production settings that are the same wherever the image runs; the rest come from the
# environment (see deploy/k8s/). ONESTOP_ENV=production makes JWT_SECRET (or
# JWT_PUBLIC_KEY_FILE) mandatory: the process exits with status 2 without it.
ARG REVISION=unknown
ENV ONESTOP_SERVICE=${SERVICE} \
    ONESTOP_REVISION=${REVISION} \
    ONESTOP_ENV=production \
    GRPC_HOST=0.0.0.0 \
    METRICS_HOST=0.0.0.0 \
    WEB_HOST=0.0.0.0

# Numeric, so Kubernetes' runAsNonRoot can verify it without reading /etc/passwd.
USER 10001:10001

# gRPC (api), then Prometheus /metrics of each process: api, worker and, where there is one, relay.
EXPOSE ${PORTS}

# exec: the api is PID 1 and gets SIGTERM itself.
CMD ["/bin/sh", "-c", "exec onestop-${ONESTOP_SERVICE}-api"]
