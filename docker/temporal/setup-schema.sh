#!/bin/sh
# One-shot (the temporal-schema service, temporalio/admin-tools): create Temporal's two
# PostgreSQL databases, the default store and the visibility store, and bring their schemas to
# the versions this admin-tools release ships. Safe to run on every `up`: an existing database
# is kept, and a schema that is already versioned is only updated.
set -eu
: "${POSTGRES_SEEDS:?POSTGRES_SEEDS is required}"
: "${POSTGRES_USER:?POSTGRES_USER is required}"
SQL_PASSWORD=$(cat "${SQL_PASSWORD_FILE:?SQL_PASSWORD_FILE is required}")
export SQL_PASSWORD  # read by temporal-sql-tool
SCHEMAS=/etc/temporal/schema/postgresql/v12

sql() {
  temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "${DB_PORT:-5432}" \
    -u "$POSTGRES_USER" --db "$@"
}

store() {  # database, schema folder
  echo "temporal-schema: database $1"
  sql "$1" create
  if sql "$1" update-schema -d "$SCHEMAS/$2/versioned"; then
    return 0  # already set up: updated to the latest version
  fi
  sql "$1" setup-schema -v 0.0
  sql "$1" update-schema -d "$SCHEMAS/$2/versioned"
}

store "${DBNAME:-temporal}" temporal
store "${VISIBILITY_DBNAME:-temporal_visibility}" visibility
echo "temporal-schema: done"
