# Customer records: build with cargo-leptos, run from a slim image.
# (Written for Docker; the development machines have no Docker engine, so this
# file has not been built there.)

FROM rust:1.89-bookworm AS build
WORKDIR /src
RUN rustup target add wasm32-unknown-unknown \
 && apt-get update && apt-get install -y --no-install-recommends nodejs npm \
 && npm install -g binaryen@132 \
 && cargo install cargo-leptos@0.3.10 --locked --features no_downloads
COPY Cargo.toml Cargo.lock ./
RUN cargo install wasm-bindgen-cli --version "=$(awk '/^name = "wasm-bindgen"$/ { getline; gsub(/version = |"/, ""); print; exit }' Cargo.lock)"
COPY . .
# As scripts/env.sh: no build-machine paths in the browser's bundle.
RUN CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="--remap-path-prefix=$CARGO_HOME/registry/src=crates" \
    cargo leptos build --release --precompress --split

FROM debian:bookworm-slim AS runtime
RUN useradd --system --home /data customer-records && mkdir -p /data && chown customer-records /data
WORKDIR /app
COPY --from=build /src/target/release/customer-records /app/customer-records
# The bundle's hashed file names, read beside the binary.
COPY --from=build /src/target/release/hash.txt /app/hash.txt
COPY --from=build /src/target/site /app/site
USER customer-records
# ALLOWED_HOSTS: set it to the names clients use (by default only loopback names
# are answered, as the image listens on every interface).
# Sign-in: add users and API tokens to USERS_FILE (on the volume) with
#   docker run --rm -it -v customers:/data customer-records user add NAME --role editor
# While it holds none, the server is in protected mode: it serves only clients
# inside the container (the HEALTHCHECK); clients through a published port get
# 403 saying how to open up.
ENV LISTEN_ADDR=0.0.0.0:3000 \
    LEPTOS_SITE_ROOT=/app/site \
    DATA_FILE=/data/customers.json \
    USERS_FILE=/data/users.json \
    RUST_LOG=info
EXPOSE 3000
VOLUME ["/data"]
HEALTHCHECK --interval=10s --timeout=4s --start-period=5s --retries=3 \
  CMD ["/app/customer-records", "healthcheck"]
# Redis: set REDIS_SENTINELS, REDIS_MASTER_NAME and REDIS_PASSWORD (see README).
# Arguments run a subcommand (`user add NAME --role editor`); none serves.
ENTRYPOINT ["/app/customer-records"]
