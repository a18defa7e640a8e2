# syntax=docker/dockerfile:1
#
# One image for the ledger, the scheduler and the notifier: the entrypoint is
# the `overdue` command, and each compose service picks its sub-command.

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: resolve the locked dependencies into a virtual environment -------
FROM ${PYTHON_IMAGE} AS build

ARG UV_VERSION=0.13.9
RUN pip install --no-cache-dir "uv==${UV_VERSION}"

# Bytecode is compiled once here, so containers start without writing .pyc files;
# the venv is copied to the same path in the runtime stage, so it stays valid.
ENV UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/opt/overdue

WORKDIR /src

# Dependencies first: this layer is rebuilt only when the lock file changes.
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project

# Then the project itself, installed as a wheel so the runtime needs no source tree.
COPY shared ./shared
COPY services ./services
# The shipped templates go into the wheel, beside the notifier (pyproject.toml).
COPY templates ./templates
RUN uv sync --frozen --no-dev --no-editable

# --- runtime: the system libraries WeasyPrint loads, the venv, no build tools -
FROM ${PYTHON_IMAGE} AS runtime

# Not pinned to versions: the base tag fixes the Debian release, and within it
# the newest package carries the security fixes.
# hadolint ignore=DL3008
RUN apt-get update \
    && apt-get install --yes --no-install-recommends \
        libpango-1.0-0 \
        libpangoft2-1.0-0 \
        libharfbuzz-subset0 \
        fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*

RUN groupadd --system --gid 10001 overdue \
    && useradd --system --uid 10001 --gid overdue --home-dir /app --create-home overdue

COPY --from=build /opt/overdue /opt/overdue

ENV PATH=/opt/overdue/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1

WORKDIR /app
# Numeric, so that a runtime can tell it is not root without reading /etc/passwd.
USER 10001:10001

ENTRYPOINT ["overdue"]
CMD ["--help"]
