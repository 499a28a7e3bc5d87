# syntax=docker/dockerfile:1
# The `arbiter` server: built in the Rust image, run on Debian slim as an unprivileged user.
# Configure it with ARBITER_* variables (see README.md); deploy/docker-compose.yml runs a
# cluster of two with PostgreSQL, Redis, Prometheus and Grafana.

FROM rust:1.95-slim-trixie AS build
WORKDIR /src
COPY . .
# The registry and target directories are build caches, not image layers: copy the binary
# out in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p arbiter-server --bin arbiter \
    && cp target/release/arbiter /usr/local/bin/arbiter

FROM debian:trixie-slim
RUN useradd --system --home-dir /var/lib/arbiter --create-home arbiter
COPY --from=build /usr/local/bin/arbiter /usr/local/bin/arbiter
USER arbiter
WORKDIR /var/lib/arbiter
ENV ARBITER_LISTEN=0.0.0.0:7878 \
    ARBITER_DATA_DIR=/var/lib/arbiter/data
EXPOSE 7878
ENTRYPOINT ["arbiter"]
CMD ["serve"]
