#!/usr/bin/env bash
# The test command: installs what the tests need, then runs the whole suite (integration too).
#
#   bash scripts/test.sh [pytest arguments]
#
# Works on a fresh Debian machine as root with Python >= 3.11 and package registries only:
#   1. Debian packages the tests use (dcmtk, orthanc; postgresql when no server answers on
#      127.0.0.1:5432; python3-venv when venv is missing), skipped when already installed;
#   2. PostgreSQL started if down, with a role root and a database test reachable without a
#      password on 127.0.0.1 (skipped when SLICEBOX_TEST_POSTGRES_URL names a server);
#   3. a virtual environment in .venv (SLICEBOX_VENV) with `pip install -e '.[test,dev]'`,
#      redone only when pyproject.toml changes; a venv also sidesteps PEP 668 system Pythons;
#   4. `python -m pytest -q`, whose exit status is this script's.
# A second run with everything in place goes straight to step 4.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

say() { printf '== %s\n' "$*" >&2; }
as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
pg_answers() { (exec 3<>"/dev/tcp/127.0.0.1/${1:-5432}") 2>/dev/null; }

PYTHON=${PYTHON:-python3}
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' 2>/dev/null; then
    if command -v python3.11 >/dev/null; then PYTHON=python3.11; else
        say "Python >= 3.11 is required ($PYTHON is $("$PYTHON" -V 2>&1))"; exit 2
    fi
fi

# 1. Debian packages ------------------------------------------------------------------------
missing=()
for pkg in dcmtk orthanc; do
    dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ -z "${SLICEBOX_TEST_POSTGRES_URL:-}" ] && ! pg_answers \
        && ! dpkg -s postgresql >/dev/null 2>&1; then
    missing+=(postgresql)
fi
"$PYTHON" -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
if [ "${#missing[@]}" -gt 0 ]; then
    say "apt-get install ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Keep package scripts from starting daemons (Orthanc on 8042, ...): the tests start what
    # they use on free ports, and PostgreSQL is started below.
    policy=/usr/sbin/policy-rc.d
    own_policy=""
    if [ ! -e "$policy" ]; then
        printf '#!/bin/sh\nexit 101\n' | as_root tee "$policy" >/dev/null
        as_root chmod +x "$policy"
        own_policy=1
        trap 'as_root rm -f "$policy"' EXIT
    fi
    as_root apt-get update -qq
    as_root apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    if [ -n "$own_policy" ]; then as_root rm -f "$policy"; trap - EXIT; fi
fi

# 2. PostgreSQL -----------------------------------------------------------------------------
if [ -z "${SLICEBOX_TEST_POSTGRES_URL:-}" ]; then
    port=5432
    if ! pg_answers "$port" && command -v pg_lsclusters >/dev/null; then
        # Debian's cluster; it listens on 5433 or later if 5432 was taken when it was created
        read -r version cluster port status _ < <(pg_lsclusters --no-header | sort -V | tail -n 1)
        if [ "$status" != online ]; then
            say "starting PostgreSQL $version/$cluster on port $port"
            as_root pg_ctlcluster --skip-systemctl-redirect "$version" "$cluster" start
        fi
        for _ in $(seq 50); do pg_answers "$port" && break; sleep 0.2; done
    fi
    pg_answers "$port" || { say "no PostgreSQL server on 127.0.0.1:$port"; exit 2; }
    if [ "$port" != 5432 ]; then
        export SLICEBOX_TEST_POSTGRES_URL="postgresql+psycopg://root@127.0.0.1:$port/test"
    fi
    if command -v psql >/dev/null \
            && ! psql -h 127.0.0.1 -p "$port" -U root -d test -Atqc 'select 1' >/dev/null 2>&1; then
        say "creating PostgreSQL role root and database test (trust on 127.0.0.1)"
        psql_pg() { as_root runuser -u postgres -- psql -p "$port" -v ON_ERROR_STOP=1 -Atq "$@"; }
        [ "$(psql_pg -c "select 1 from pg_roles where rolname = 'root'")" = 1 ] \
            || psql_pg -c 'CREATE ROLE root SUPERUSER LOGIN'
        [ "$(psql_pg -c "select 1 from pg_database where datname = 'test'")" = 1 ] \
            || psql_pg -c 'CREATE DATABASE test OWNER root'
        hba=$(psql_pg -c 'show hba_file')
        if ! as_root grep -qE '^host\s+test\s+root\s+127\.0\.0\.1/32\s+trust' "$hba"; then
            # the first matching line wins: put ours on top
            as_root sed -i '1i host test root 127.0.0.1/32 trust' "$hba"
            psql_pg -c 'select pg_reload_conf()' >/dev/null
        fi
    fi
fi

# 3. Python environment ---------------------------------------------------------------------
VENV=${SLICEBOX_VENV:-.venv}
if [ ! -x "$VENV/bin/python" ]; then
    say "creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
VENV=$(cd "$VENV" && pwd)
want="$(sha256sum pyproject.toml | cut -d' ' -f1)"
stamp="$VENV/.slicebox-installed"
if [ "$(cat "$stamp" 2>/dev/null || true)" != "$want" ]; then
    say "pip install -e '.[test,dev]' into $VENV"
    "$VENV/bin/python" -m pip install -q --disable-pip-version-check -e '.[test,dev]'
    echo "$want" >"$stamp"
fi
export VIRTUAL_ENV="$VENV" PATH="$VENV/bin:$PATH"

# 4. The suite ------------------------------------------------------------------------------
exec python -m pytest -q "$@"
