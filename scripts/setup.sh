#!/usr/bin/env bash
# Installs whatever is missing to build (and, with --test, to test) the app, and
# skips what is present. Safe to run again: every step checks before it acts.
set -euo pipefail
cd "$(dirname "$0")/.."

# --test: also what the tests need; --bench: what the benchmark needs.
want_test_tools=false
want_bench_tools=false
[[ "${1:-}" == "--test" ]] && want_test_tools=true && want_bench_tools=true
[[ "${1:-}" == "--bench" ]] && want_bench_tools=true

CARGO_LEPTOS_VERSION=0.3.10   # 0.3.11 needs a newer rustc than this project's 1.89+ floor
BINARYEN_VERSION=132          # Debian's wasm-opt is too old for current wasm-bindgen output

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }

apt_install() {
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  ((${#missing[@]} == 0)) && return 0
  log "installing ${missing[*]} (apt)"
  local sudo=""; [[ $(id -u) -ne 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

if ! rustup target list --installed | grep -qx wasm32-unknown-unknown; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

if [[ "$(cargo leptos --version 2>/dev/null || true)" != *"$CARGO_LEPTOS_VERSION"* ]]; then
  log "installing cargo-leptos $CARGO_LEPTOS_VERSION (about 20 minutes, once per machine)"
  # no_downloads: a missing tool is a clear error instead of a download that hangs offline.
  cargo install "cargo-leptos@$CARGO_LEPTOS_VERSION" --locked --features no_downloads
fi

# The wasm-bindgen CLI must be exactly the version in Cargo.lock.
bindgen_version=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)
if [[ "$(wasm-bindgen --version 2>/dev/null || true)" != "wasm-bindgen $bindgen_version" ]]; then
  log "installing wasm-bindgen-cli $bindgen_version"
  # Not --locked: its lockfile pins a crate version the registry no longer serves.
  cargo install wasm-bindgen-cli --version "=$bindgen_version" --force
fi

if ! command -v wasm-opt >/dev/null || [[ "$(wasm-opt --version)" != *"version $BINARYEN_VERSION"* ]]; then
  command -v npm >/dev/null || apt_install nodejs npm
  log "installing wasm-opt (binaryen $BINARYEN_VERSION, npm)"
  npm install -g --silent "binaryen@$BINARYEN_VERSION"
fi

if $want_bench_tools; then
  apt_install redis-server redis-sentinel redis-tools wrk
fi
if $want_test_tools; then
  # iproute2: the protected-mode test makes a client machine of a network namespace.
  # openssl: the TLS tests make their certificates with it.
  apt_install chromium chromium-driver iproute2 curl openssl
  if [[ ! -d tests/browser/node_modules/playwright-core || ! -d tests/browser/node_modules/axe-core ]]; then
    log "installing playwright-core (it drives Debian's Chromium) and axe-core for the browser tests"
    (cd tests/browser && npm ci --silent --no-audit --no-fund)
  fi
fi
log "tools ready"
