# Sourced by the scripts: where builds go and where the built app is.
# A target dir outside the clone survives fresh clones (CI makes one per run),
# so only the first build on a machine is cold. Override with CARGO_TARGET_DIR.
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/customer-records/target}"
export SERVER_BIN="$CARGO_TARGET_DIR/release/customer-records"
export LEPTOS_SITE_ROOT="${LEPTOS_SITE_ROOT:-$PWD/target/site}"
# The browser's bundle carries the source paths of panic locations; without this
# they name this machine's cargo folder (its registry/src under CARGO_HOME),
# which the bundle would then show to every visitor.
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="${CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS:---remap-path-prefix=${CARGO_HOME:-$HOME/.cargo}/registry/src=crates}"
