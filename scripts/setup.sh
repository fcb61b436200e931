#!/usr/bin/env bash
# Sets up everything voicebot needs on a fresh Debian/Ubuntu machine:
# system packages (espeak-ng for speech synthesis, ...) and a virtualenv in .venv
# with the project and its development tools. Safe to run again: it only does
# what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(espeak-ng libespeak-ng1 sox chromium chromium-driver docker-compose)
missing=()
for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# npm (for axe-core in the page tests) may come with a nodejs package of another origin.
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
    echo "setup: installing system packages: ${missing[*]}"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -q
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
    echo "setup: creating .venv"
    "$PY" -m venv .venv
fi
stamp=".venv/.voicebot-installed-$(cat pyproject.toml constraints.txt | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    echo "setup: installing Python packages (first run takes a few minutes)"
    # torch first and pinned: it is the one dependency with a CPU-only build to pick.
    .venv/bin/pip install -q torch==2.13.0
    # constraints.txt pins every package the suite was last run with: a new release on
    # PyPI must not change what a clean clone installs (see docs/decisions/constraints.md).
    .venv/bin/pip install -q -c constraints.txt -e ".[dev]"
    rm -f .venv/.voicebot-installed-*
    touch "$stamp"
fi
# The staff pages' translations: .po sources in git, .mo compiled here (docs/decisions/i18n.md).
.venv/bin/pybabel -q compile -d voicebot/i18n/locale
# axe-core for the page tests (tests/web), pinned by package-lock.json; only when the lock
# changed, so that a set-up machine needs no registry.
npm_stamp="node_modules/.voicebot-$(sha256sum package-lock.json | cut -c1-16)"
if [ ! -f "$npm_stamp" ]; then
    echo "setup: installing axe-core for the page tests (npm ci)"
    npm ci --no-audit --no-fund --loglevel=error
    touch "$npm_stamp"
fi
