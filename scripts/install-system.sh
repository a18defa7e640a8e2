#!/usr/bin/env bash
# Debian packages the local stack and the notifier need: PostgreSQL 15 server,
# Java 17 and Maven (the Kafka broker), Pango/HarfBuzz and fonts (WeasyPrint
# PDF letters), poppler-utils (reading PDFs back in tests).
#
# Idempotent and quick when everything is present: apt-get update runs only
# when a package is missing, and only the missing packages are installed.
set -euo pipefail

PACKAGES=(
  libpango-1.0-0
  libpangoft2-1.0-0
  libharfbuzz-subset0
  fonts-dejavu-core
  postgresql-15
  openjdk-17-jre-headless
  maven
  poppler-utils
)

missing=()
for package in "${PACKAGES[@]}"; do
  if ! dpkg -s "$package" 2>/dev/null | grep -q '^Status: install ok installed'; then
    missing+=("$package")
  fi
done

if [ "${#missing[@]}" -eq 0 ]; then
  echo "install-system: all ${#PACKAGES[@]} packages already installed"
  exit 0
fi

as_root=()
if [ "$(id -u)" -ne 0 ]; then
  if ! command -v sudo >/dev/null; then
    echo "install-system: need root (or sudo) to install: ${missing[*]}" >&2
    exit 1
  fi
  as_root=(sudo)
fi

echo "install-system: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${as_root[@]}" apt-get update
"${as_root[@]}" apt-get install -y --no-install-recommends "${missing[@]}"
