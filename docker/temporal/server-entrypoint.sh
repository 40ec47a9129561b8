#!/bin/sh
# The Temporal server (temporalio/server) with its database password from a secret file: the
# image reads POSTGRES_PWD from the environment, so it is exported here, never written in
# docker-compose.yml or .env.
set -eu
POSTGRES_PWD=$(cat "${POSTGRES_PWD_FILE:?POSTGRES_PWD_FILE is required}")
export POSTGRES_PWD
unset POSTGRES_PWD_FILE
if [ -x /etc/temporal/entrypoint.sh ]; then
  exec /etc/temporal/entrypoint.sh "$@"  # the image's own (config from its template)
fi
exec temporal-server start "$@"  # images whose entrypoint is the server itself
