#!/bin/sh
# System packages the tests use beyond Python: headless Chromium for the report's browser test,
# graphviz's dot for `optbench graph --format svg`.
# Installs with apt-get only what is missing; without apt-get or root it says what to install.
set -eu

missing=""
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || missing="$missing chromium"
command -v dot >/dev/null 2>&1 || missing="$missing graphviz"

if [ -z "$missing" ]; then
    exit 0
fi
if ! command -v apt-get >/dev/null 2>&1; then
    echo "system-deps: please install:$missing (the tests that need them are skipped)" >&2
    exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo="sudo"
    else
        echo "system-deps: not root and no sudo; please install:$missing" >&2
        exit 0
    fi
fi
echo "system-deps: installing$missing with apt-get" >&2
$sudo apt-get update -qq
# shellcheck disable=SC2086  # the package list is meant to split
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $missing
