# docsync's container image: a static binary on busybox.
#
#   docker build --build-arg VERSION=0.1.0 -t docsync .
#
# The runtime stage has a shell because GitLab's runner starts every job
# container through `sh` (scratch and distroless images fail as a job
# `image:`), and it sets no ENTRYPOINT, so a job needs no `entrypoint: [""]`.

# --- build: the static (musl) binary, exactly as the README builds it ---
FROM rust:1.95-slim-bookworm AS build
# musl-tools: the musl C toolchain for the vendored libgit2, zlib, ring and
# mimalloc (no perl, no make: there is no OpenSSL to configure).
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      musl-tools ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && rustup target add x86_64-unknown-linux-musl
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
# The musl build's size tuning: relocation model, unwind tables, -Os for
# the C code (docs/binary.md).
COPY .cargo ./.cargo
COPY src ./src
RUN cargo build --release --locked --target x86_64-unknown-linux-musl \
 && cp target/x86_64-unknown-linux-musl/release/docsync /usr/local/bin/docsync \
 && /usr/local/bin/docsync --version

# --- runtime: busybox (a POSIX shell, ~1.5 MB), CA bundle (0.22 MB), docsync
# (at most 4.5 MiB, checked by tests/packaging.rs): about 6.2 MB in all ---
FROM busybox:1.37.0-musl
ARG VERSION=dev
ARG SOURCE=https://gitlab.com/docsync/docsync
ARG REVISION=unknown
LABEL org.opencontainers.image.title="docsync" \
      org.opencontainers.image.description="Keeps GitBook spaces and GitLab push-webhook receivers (Dot) in sync with a GitLab repository, from inside GitLab CI." \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0"
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /usr/local/bin/docsync /usr/local/bin/docsync
# A user of its own. GitLab's runner makes the checkout writable for any
# user (umask 0000), and docsync only reads the repository anyway.
RUN adduser -D -u 10001 docsync
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 10001:10001
