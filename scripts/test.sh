#!/usr/bin/env bash
# Sets up whatever the tests need and runs every test: unit, store contract (file
# and real Redis Sentinel), JSON API over HTTP, crash safety, and the browser tests.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
source scripts/env.sh

echo "[test] building the release app (server + wasm)"
cargo leptos build --release --precompress --split

echo "[test] Rust tests"
cargo test --release --workspace

echo "[test] the Docker image's recipe (toolchain, copied paths, variables; no engine here)"
scripts/check-image.sh

echo "[test] benchmark smoke run (tiny N; figures are not checked here)"
BENCH_SKIP_BUILD=1 scripts/bench.sh --quick

echo "[test] browser tests (headless Chromium)"
(cd tests/browser && node --test --test-concurrency=1 ./*.test.mjs)
