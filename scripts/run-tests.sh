#!/usr/bin/env bash
# `make test`: unit tests first (fast), then two lanes side by side, since both mostly wait on Docker,
# apt and SSH rather than on the CPU:
#   lane 1: integration and end-to-end tests (sandbox hosts)        -> output here, live
#   lane 2: the Molecule scenarios                                  -> build/test-logs/molecule.log
# Slow shared inputs (the Docker engine, the sandbox image, the locally built n8n/PostgreSQL images and
# their archives) are made once before the lanes start, so the lanes never build the same thing twice.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
# A scenario runs on Debian 13 unless named scenario:distro (MOLECULE_DISTRO, .config/molecule/config.yml).
SCENARIOS=${MOLECULE_SCENARIOS:-base_server base_server:debian12 dns nginx_proxy n8n supabase}
LOGS=build/test-logs
mkdir -p "$LOGS"

step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

step "unit tests"
$BIN/lint-imports || exit 1
$BIN/python -m orchestrator.agents.docs --check roles/* || exit 1
$BIN/python -m orchestrator.request.docs --check || exit 1
$BIN/pytest -q tests/unit || exit 1

step "shared images (cached by version)"
for distro in $(printf '%s\n' $SCENARIOS | sed -n 's/^[^:]*://p' | sort -u); do  # scenario:distro entries
  $BIN/aidevops sandbox image --os "$distro" || exit 1
done
$BIN/aidevops sandbox image || exit 1
$BIN/python -m orchestrator.sandbox.app_images || exit 1

step "Molecule scenarios in the background: $SCENARIOS (log: $LOGS/molecule.log)"
(
  for s in $SCENARIOS; do
    start=$(date +%s)
    distro=${s#*:}; [ "$distro" = "$s" ] && distro=debian13
    MOLECULE_DISTRO=$distro PATH="$PWD/$BIN:$PATH" $BIN/molecule test -s "${s%%:*}" \
      || { echo "MOLECULE FAILED: $s"; exit 1; }
    echo "MOLECULE PASSED: $s in $(( $(date +%s) - start ))s"
  done
) > "$LOGS/molecule.log" 2>&1 &
molecule_pid=$!

step "integration tests"
# --durations: the slowest tests in the log, to see where CI's time goes.
$BIN/pytest -q --durations=10 tests/integration; integration=$?
step "end-to-end tests"
$BIN/pytest -q --durations=15 tests/e2e; e2e=$?

step "waiting for Molecule"
wait $molecule_pid; molecule=$?
grep -E "^MOLECULE (PASSED|FAILED)" "$LOGS/molecule.log"
if [ $molecule -ne 0 ]; then
  echo "--- last lines of $LOGS/molecule.log"
  tail -n 150 "$LOGS/molecule.log"
fi

step "summary"
echo "integration: $([ $integration -eq 0 ] && echo passed || echo FAILED)"
echo "e2e:         $([ $e2e -eq 0 ] && echo passed || echo FAILED)"
echo "molecule:    $([ $molecule -eq 0 ] && echo passed || echo FAILED)"
[ $integration -eq 0 ] && [ $e2e -eq 0 ] && [ $molecule -eq 0 ]
