#!/usr/bin/env bash
# Make sure the services Switchboard's integration tests talk to (PostgreSQL,
# Redis, NATS with JetStream) answer on 127.0.0.1, starting any that does not.
#
# Source it to get `ensure`, or run it:
#   .ci/services.sh                    # all three
#   .ci/services.sh nats postgres      # just these
# Tests that stop or restart a service run it afterwards to bring it back.
# Fails with the service's log tail if one is still silent after 30 s.

SERVICES_WAIT_SECONDS=30
POSTGRES_PORT=5432
REDIS_PORT=6379
NATS_PORT=4222

# ensure [postgres|redis|nats]... — all three when none is named.
ensure() {
  local services=("$@") service
  ((${#services[@]})) || services=(postgres redis nats)
  for service in "${services[@]}"; do
    case "$service" in
      postgres | redis | nats) _ensure_one "$service" || return ;;
      *)
        echo "services: unknown service '$service' (postgres, redis, nats)" >&2
        return 2
        ;;
    esac
  done
}

_ensure_one() {
  local service=$1
  if "_${service}_answers"; then
    echo "services: $service answers"
    return 0
  fi
  echo "services: $service is not answering; starting it"
  # A failed start is not fatal by itself: a concurrent caller may have
  # started the service first. Only silence after the wait is an error.
  "_start_${service}" || echo "services: $service start command exited with $?" >&2
  local waited
  for ((waited = 0; waited < SERVICES_WAIT_SECONDS; waited++)); do
    if "_${service}_answers"; then
      echo "services: $service answers after ${waited}s"
      return 0
    fi
    sleep 1
  done
  echo "services: $service still not answering after ${SERVICES_WAIT_SECONDS}s" >&2
  _log_tail "$service" >&2
  return 1
}

_postgres_answers() {
  pg_isready -q -t 2 -h 127.0.0.1 -p "$POSTGRES_PORT"
}

_redis_answers() {
  local reply
  { printf 'PING\r\n' >&3 && IFS= read -r -t 2 reply <&3 && [[ $reply == +PONG* ]]; } \
    2>/dev/null 3<>"/dev/tcp/127.0.0.1/$REDIS_PORT"
}

# A NATS server greets every connection with an INFO line.
_nats_answers() {
  local greeting
  { IFS= read -r -t 2 greeting <&3 && [[ $greeting == INFO* ]]; } \
    2>/dev/null 3<>"/dev/tcp/127.0.0.1/$NATS_PORT"
}

_start_postgres() {
  _run pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start
}

_start_redis() {
  _run redis-server --daemonize yes --bind 127.0.0.1 -::1 --port "$REDIS_PORT" --save "" \
    --appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log
}

_start_nats() {
  _run start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p "$NATS_PORT" -js -sd /var/lib/nats-server -l /var/log/nats-server.log
}

# Echo a command, shell-quoted, then run it.
_run() {
  printf '+'
  printf ' %q' "$@"
  printf '\n'
  "$@"
}

_log_tail() {
  local log
  case "$1" in
    postgres) log=$(ls /var/log/postgresql/postgresql-*-main.log 2>/dev/null | head -n 1) ;;
    redis) log=/var/log/redis/ci.log ;;
    nats) log=/var/log/nats-server.log ;;
  esac
  if [[ -n $log && -r $log ]]; then
    echo "--- last lines of $log"
    tail -n 20 "$log"
  else
    echo "--- no readable log for $1"
  fi
}

if [[ ${BASH_SOURCE[0]} == "$0" ]]; then
  set -euo pipefail
  ensure "$@"
fi
