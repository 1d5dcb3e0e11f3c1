#!/bin/sh
# Writes the auth file from the environment (never baked into the image), then runs pgbouncer.
set -eu
: "${PGBOUNCER_USER:?set PGBOUNCER_USER (the PostgreSQL role the app uses)}"
: "${PGBOUNCER_PASSWORD:?set PGBOUNCER_PASSWORD}"
umask 077
printf '"%s" "%s"\n' "$PGBOUNCER_USER" "$PGBOUNCER_PASSWORD" > /etc/pgbouncer/userlist.txt
exec pgbouncer /etc/pgbouncer/pgbouncer.ini
