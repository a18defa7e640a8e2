#!/usr/bin/env bash
# Copy the Kafka broker's jars from Maven Central into var/kafka/libs.
# Skipped in a second when the jars match shared/devstack/kafka/pom.xml;
# pass --force to copy them again. `overdue infra up` does this by itself.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"

if [ -x .venv/bin/overdue ]; then
  exec .venv/bin/overdue infra fetch "$@"
fi
exec uv run overdue infra fetch "$@"
