#!/usr/bin/env bash
# `make test`'s suites: SQLite and PostgreSQL side by side (one core each), logs shown in turn.
# Each run gets its own var/ directory so uploads, mail files and secret keys never meet.
set -uo pipefail
cd "$(dirname "$0")/.."
mkdir -p var/suites
make --no-print-directory test-sqlite ISHIBASHI_VAR_DIR="$PWD/var/suites/sqlite" >var/suites/sqlite.log 2>&1 &
sqlite_pid=$!
if [ -n "${1:-}" ]; then
  make --no-print-directory test-postgres ISHIBASHI_VAR_DIR="$PWD/var/suites/postgres" >var/suites/postgres.log 2>&1 &
  postgres_pid=$!
fi
wait "$sqlite_pid"; sqlite_rc=$?
echo "===== SQLite suite (exit $sqlite_rc) ====="
cat var/suites/sqlite.log
postgres_rc=0
if [ -n "${1:-}" ]; then
  wait "$postgres_pid"; postgres_rc=$?
  echo "===== PostgreSQL suite (exit $postgres_rc) ====="
  cat var/suites/postgres.log
else
  echo "DATABASE_URL names no PostgreSQL database: the PostgreSQL run was not made."
fi
[ "$sqlite_rc" -eq 0 ] && [ "$postgres_rc" -eq 0 ]
