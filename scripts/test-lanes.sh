#!/usr/bin/env bash
# The test suite on both of the machine's cores (`make test`, hence CI). Run as one pytest, it
# kept about one core busy and took over 20 minutes; much of its time is real-time waiting
# (timers, step timeouts, killed workers, servers restarting). So:
#   lane 1  tests/reliability, tests/devstack, tests/bench: real servers and worker subprocesses;
#   lane 2  everything else, at the same time;
#   then    the tests marked `alone` (pyproject.toml), with the machine to themselves.
# The lanes share nothing (free ports, temporary folders, a PostgreSQL schema per test). Lane 2
# streams; lane 1's output is printed once both are done. Exits non-zero when any part fails.
# Extra arguments go to every pytest run.
set -uo pipefail
cd "$(dirname "$0")/.."
PYTEST="${VENV:-.venv}/bin/pytest"
HEAVY=(tests/reliability tests/devstack tests/bench)
lane1_log="$(mktemp -t lane1.XXXXXX)"

"$PYTEST" --durations=15 -m "not alone" "$@" "${HEAVY[@]}" >"$lane1_log" 2>&1 &
lane1=$!
trap 'kill "$lane1" 2>/dev/null; rm -f "$lane1_log"' INT TERM

ignore=()
for folder in "${HEAVY[@]}"; do ignore+=("--ignore=$folder"); done
"$PYTEST" --durations=15 -m "not alone" "${ignore[@]}" "$@"
lane2=$?
wait "$lane1"
lane1_exit=$?

echo
echo "============ lane 1 (${HEAVY[*]}), run beside the above ============"
cat "$lane1_log"
rm -f "$lane1_log"

echo
echo "============ the tests marked alone ============"
"$PYTEST" --durations=5 -m alone "$@"
alone=$?
# 5: pytest collected nothing (no test marked alone): not a failure.
[ "$alone" -eq 5 ] && alone=0

echo "test lanes: lane 1 exit $lane1_exit, lane 2 exit $lane2, alone exit $alone"
[ "$lane1_exit" -eq 0 ] && [ "$lane2" -eq 0 ] && [ "$alone" -eq 0 ]
