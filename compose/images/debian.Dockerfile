# The Debian side of the stack: Postgres 15 + Patroni, etcd, HAProxy,
# PgBouncer, Redis — Debian's own packages, as in local mode.
# BASE_IMAGE is debian:bookworm-slim where a registry answers, or the image
# base.sh debootstrapped with these packages already in it (then apt, which
# would need the network, is skipped).
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
ARG PKGS="postgresql-15 postgresql-client-15 patroni python3-psycopg2 python3-etcd etcd-server etcd-client haproxy pgbouncer redis-server"
RUN set -e; missing=$(for p in $PKGS; do dpkg -s "$p" >/dev/null 2>&1 || echo "$p"; done); \
    if [ -n "$missing" ]; then \
      apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null; \
      rm -rf /var/lib/apt/lists/*; \
    fi; \
    id postgres >/dev/null; \
    install -d -m 1777 /var/lib/whatif; \
    install -d -o postgres -g postgres -m 700 /var/lib/whatif/pg
ENV LANG=C.UTF-8
WORKDIR /var/lib/whatif
