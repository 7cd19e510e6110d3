#!/usr/bin/env bash
# Checks the Docker image's recipe as far as a machine without a Docker engine can:
# - `FROM rust:X` is the workspace's `rust-version`, and toolchain X resolves and
#   compiles the locked dependencies, for the server and for the wasm bundle;
# - every path the runtime stage copies from the build is one the build produces;
# - every variable the image sets (ENV) is one the binary reads.
# Needs the release build (scripts/test.sh runs this after building).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/env.sh

log() { printf '\033[1m[image]\033[0m %s\n' "$*"; }
die() { echo "[image] error: $*" >&2; exit 1; }

image_rust=$(sed -n 's/^FROM rust:\([0-9.]*\)-[a-z]* AS build$/\1/p' Dockerfile)
declared=$(sed -n 's/^rust-version = "\(.*\)"$/\1/p' Cargo.toml)
[[ -n $image_rust ]] || die "no 'FROM rust:<version>-<distro> AS build' line in the Dockerfile"
[[ $image_rust == "$declared" ]] ||
  die "the image builds with Rust $image_rust but Cargo.toml declares rust-version $declared"

if ! rustup toolchain list | grep -q "^$image_rust"; then
  log "installing Rust $image_rust (the image's toolchain)"
  rustup toolchain install "$image_rust" --profile minimal
fi
if ! rustup target list --installed --toolchain "$image_rust" | grep -qx wasm32-unknown-unknown; then
  rustup target add wasm32-unknown-unknown --toolchain "$image_rust"
fi
target="$CARGO_TARGET_DIR/image-rust-$image_rust"
log "Rust $image_rust compiles the locked dependencies: server"
cargo "+$image_rust" check --locked --release -p server --bins --target-dir "$target"
log "Rust $image_rust compiles the locked dependencies: wasm bundle"
cargo "+$image_rust" check --locked --profile wasm-release -p app --lib --no-default-features \
  --features hydrate --target wasm32-unknown-unknown --target-dir "$target"

log "the runtime stage copies what the build produces"
bin_name=$(sed -n 's/^bin-exe-name = "\(.*\)"$/\1/p' Cargo.toml)
site_root=$(sed -n 's/^site-root = "\(.*\)"$/\1/p' Cargo.toml)
copies=$(sed -n 's/^COPY --from=build \([^ ]*\) .*/\1/p' Dockerfile)
[[ -n $copies ]] || die "the Dockerfile copies nothing from the build stage"
for source in $copies; do
  case $source in
    /src/target/release/hash.txt)
      [[ -f $(dirname "$SERVER_BIN")/hash.txt ]] || die "the build wrote no hash.txt beside the binary (hash-files)"
      ;;
    /src/target/release/*)
      [[ ${source#/src/target/release/} == "$bin_name" ]] || die "$source is not the binary cargo-leptos builds ($bin_name)"
      [[ -x $SERVER_BIN ]] || die "no built binary at $SERVER_BIN"
      ;;
    /src/*)
      [[ -e ${source#/src/} ]] || die "$source: the build produces no ${source#/src/} (site-root is $site_root)"
      ;;
    *) die "unexpected COPY source $source" ;;
  esac
done

log "every variable the image sets is one the binary reads"
help=$("$SERVER_BIN" --help)
variables=$(awk '/^ENV /{on=1} on{print} on && !/\\$/{on=0}' Dockerfile | grep -o '[A-Z_][A-Z0-9_]*=' | tr -d '=')
[[ -n $variables ]] || die "the Dockerfile sets no variables"
for variable in $variables; do
  [[ $variable == RUST_LOG ]] && continue # read by the log filter, not by clap
  grep -q "env: $variable=" <<<"$help" || die "the image sets $variable, which the binary does not read"
done
healthcheck=$(awk '/^HEALTHCHECK /{on=1} on{print} on && !/\\$/{on=0}' Dockerfile)
grep -q '"healthcheck"\]' <<<"$healthcheck" || die "no HEALTHCHECK running the healthcheck subcommand"
"$SERVER_BIN" help healthcheck >/dev/null || die "the binary has no healthcheck subcommand"
log "image recipe consistent with the build"
