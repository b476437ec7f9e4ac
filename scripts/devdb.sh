#!/usr/bin/env bash
# Makes sure a PostgreSQL server is up and prints an admin URL for it.
#   1. 127.0.0.1:5432 if it answers;
#   2. else the machine's cluster, started with pg_ctlcluster;
#   3. else a private cluster under .data/postgres (port 54329), created
#      with the installed PostgreSQL binaries (as user postgres when root).
# Progress goes to stderr; stdout is only the URL.
set -euo pipefail
cd "$(dirname "$0")/.."

say() { echo "devdb: $*" >&2; }

answers() { # host port
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h "$1" -p "$2" -t 2
  else
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null
  fi
}

if answers 127.0.0.1 5432; then
  echo "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"
  exit 0
fi

if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ] && [ -n "$(ls /etc/postgresql 2>/dev/null)" ]; then
  ver=$(ls /etc/postgresql | sort -V | tail -n 1)
  say "starting the system cluster $ver/main"
  pg_ctlcluster --skip-systemctl-redirect "$ver" main start >&2 || true
  for _ in $(seq 1 30); do
    answers 127.0.0.1 5432 && { echo "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"; exit 0; }
    sleep 1
  done
  say "the system cluster did not come up; trying a private one"
fi

bindir=""
for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r) ; do
  [ -x "$d/initdb" ] && { bindir=$d; break; }
done
if [ -z "$bindir" ]; then
  command -v initdb >/dev/null 2>&1 && bindir=$(dirname "$(command -v initdb)")
fi
[ -n "$bindir" ] || { say "no PostgreSQL found: install postgresql (apt-get install postgresql) or set DATABASE_URL"; exit 1; }

data="$PWD/.data/postgres"
port=54329
asuser=()
if [ "$(id -u)" = 0 ]; then
  asuser=(runuser -u postgres --)
fi
mkdir -p "$data"
[ "$(id -u)" = 0 ] && chown -R postgres "$PWD/.data"
if [ ! -f "$data/PG_VERSION" ]; then
  say "initialising a private cluster in $data"
  "${asuser[@]}" "$bindir/initdb" -D "$data" -U postgres --auth=trust >/dev/null
fi
if ! answers 127.0.0.1 $port; then
  say "starting the private cluster on port $port"
  "${asuser[@]}" "$bindir/pg_ctl" -D "$data" -l "$data/server.log" -w \
    -o "-p $port -k /tmp -c listen_addresses=127.0.0.1" start >&2
fi
echo "postgres://postgres@127.0.0.1:$port/postgres?sslmode=disable"
