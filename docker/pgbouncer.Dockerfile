# PgBouncer from Debian's package: the same binary (1.18) the scaling test runs against.
FROM debian:bookworm-slim
RUN apt-get update \
    && apt-get install -y --no-install-recommends pgbouncer postgresql-client \
    && rm -rf /var/lib/apt/lists/*
COPY docker/pgbouncer.ini /etc/pgbouncer/pgbouncer.ini
COPY docker/pgbouncer-entrypoint.sh /usr/local/bin/pgbouncer-entrypoint
RUN chmod 0755 /usr/local/bin/pgbouncer-entrypoint \
    && mkdir -p /var/run/pgbouncer && chown postgres:postgres /var/run/pgbouncer /etc/pgbouncer
USER postgres
EXPOSE 6432
HEALTHCHECK --interval=10s --timeout=3s --retries=5 CMD ["pg_isready", "-h", "127.0.0.1", "-p", "6432"]
ENTRYPOINT ["/usr/local/bin/pgbouncer-entrypoint"]
