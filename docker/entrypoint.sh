#!/bin/sh
# The engine image's entrypoint: secrets from files, then the command.
#
# For each engine secret NAME below whose NAME_FILE is set, NAME is exported with that file's
# contents (trailing newlines dropped) and NAME_FILE is removed. docker-compose.yml mounts its
# `secrets:` under /run/secrets/ and points the NAME_FILE variables at them; plain NAME
# variables work as well (Kubernetes secrets as env, a local run). Only these names: other
# *_FILE variables (SSL_CERT_FILE, ...) mean what they always mean.
set -eu
for name in DATABASE_URL TELLESCOPE_API_KEY WEBHOOK_SECRET ${SECRET_FILE_VARIABLES:-}; do
  eval "path=\${${name}_FILE:-}"
  [ -n "$path" ] || continue
  if [ ! -r "$path" ]; then
    echo "entrypoint: ${name}_FILE=${path} is not a readable file" >&2
    exit 1
  fi
  value=$(cat "$path")
  export "$name=$value"
  unset "${name}_FILE"
done
exec "$@"
