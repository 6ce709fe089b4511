#!/usr/bin/env bash
# The whole test suite on a fresh machine: starts PostgreSQL, Redis and MariaDB where they
# are installed but not running (docs/architecture.md#services), installs Debian's Chromium
# and ChromeDriver for the browser test when they are missing, then runs every test.
# Arguments go to `cargo test` (for example a test name filter).
set -euo pipefail
cd "$(dirname "$0")/.."

say() { printf '==> %s\n' "$*"; }

wait_for() { # wait_for NAME CMD...: up to 60 s for a service to answer
    local name=$1; shift
    for _ in $(seq 1 60); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        sleep 1
    done
    echo "ERROR: $name did not come up; start it, or point its variable at one that runs" >&2
    return 1
}

# A service given by URL (POSTGRES_URL, REDIS_URL, MYSQL_URL) is the caller's to run.
if [ -z "${POSTGRES_URL:-}" ]; then
    if ! pg_isready -h 127.0.0.1 -p 5432 >/dev/null 2>&1; then
        say "starting PostgreSQL"
        pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
    fi
    wait_for "PostgreSQL (POSTGRES_URL)" pg_isready -h 127.0.0.1 -p 5432
fi
if [ -z "${REDIS_URL:-}" ]; then
    if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
        say "starting Redis"
        redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" \
            --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
    fi
    wait_for "Redis (REDIS_URL)" redis-cli -h 127.0.0.1 -p 6379 ping
fi
if [ -z "${MYSQL_URL:-}" ]; then
    if ! mysqladmin -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1; then
        say "starting MariaDB"
        start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
    fi
    wait_for "MariaDB (MYSQL_URL)" mysqladmin -h 127.0.0.1 -P 3306 -u root ping
fi

# The demo's end-to-end test drives headless Chromium through chromedriver.
if [ ! -x /usr/bin/chromium ] || [ ! -x /usr/bin/chromedriver ]; then
    say "installing Chromium and ChromeDriver"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver
fi

say "cargo test --workspace --all-features $*"
exec cargo test --workspace --all-features "$@"
