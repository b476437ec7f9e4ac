#!/usr/bin/env bash
# `make run`: the embedded default for a new user. Uses DATABASE_URL when
# set; otherwise finds or starts PostgreSQL, creates database pqlbot, and
# runs `pqlbot serve` with a development write key and Slack in dry run.
set -euo pipefail
cd "$(dirname "$0")/.."
# The URL to try: HTTP_ADDR as given, with an empty or wildcard host
# (":8080", "0.0.0.0:8080", "[::]:8080") shown as localhost.
addr=${HTTP_ADDR:-:8080}
port=${addr##*:}
host=${addr%:*}
case "$host" in ""|0.0.0.0|"[::]") host=localhost ;; esac
track_url="http://$host:$port/v1/track"
if [ "${1:-}" = "--print-url" ]; then
  # For internal/shiptest, which checks this URL for each form of HTTP_ADDR.
  echo "$track_url"
  exit 0
fi
if [ -z "${DATABASE_URL:-}" ]; then
  admin=$(scripts/devdb.sh)
  base=${admin%%/postgres\?*}
  psql "$admin" -tAc "SELECT 1 FROM pg_database WHERE datname = 'pqlbot'" | grep -q 1 \
    || psql "$admin" -qc "CREATE DATABASE pqlbot"
  export DATABASE_URL="$base/pqlbot?sslmode=disable"
fi
export PQLBOT_WRITE_KEYS=${PQLBOT_WRITE_KEYS:-dev-write-key}
mkdir -p bin
go build -o bin/pqlbot ./cmd/pqlbot
cat >&2 <<MSG
pqlbot: database   $(echo "$DATABASE_URL" | sed -E 's#//([^:@/]*):[^@]*@#//\1:***@#')
pqlbot: write key  ${PQLBOT_WRITE_KEYS%%,*}
pqlbot: slack      ${SLACK_BOT_TOKEN:+live}${SLACK_BOT_TOKEN:-dry run (alerts are logged)}
pqlbot: try        curl -u ${PQLBOT_WRITE_KEYS%%,*}: -H 'Content-Type: application/json' \\
                     -d '{"userId":"u1","event":"Workflow Completed","context":{"groupId":"acme"}}' \\
                     $track_url
MSG
exec bin/pqlbot serve
