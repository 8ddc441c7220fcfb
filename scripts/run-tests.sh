#!/usr/bin/env bash
# `make test`: unit tests first (fast, a gate), then two lanes side by side, since both mostly wait on
# Docker, apt and SSH rather than on the CPU:
#   lane 1: the end-to-end tests (one deployed stack, the longest part)      -> output here, live
#   lane 2: the integration tests, then the Molecule scenarios               -> build/test-logs/{integration,molecule}.log
# The lanes are balanced by their measured wall times (CI on 2 cores: e2e about as long as integration and
# Molecule together). Slow shared inputs (the Docker engine, the sandbox images, the locally built
# n8n/PostgreSQL images and their archives) are made once before the lanes start.
set -uo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.venv/bin}
# A scenario runs on Debian 13 unless named scenario:distro (MOLECULE_DISTRO, .config/molecule/config.yml).
SCENARIOS=${MOLECULE_SCENARIOS:-base_server base_server:debian12 dns nginx_proxy n8n supabase}
LOGS=build/test-logs
mkdir -p "$LOGS"
rm -f "$LOGS/integration.rc"

step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }

step "unit tests"
$BIN/lint-imports || exit 1
$BIN/python -m orchestrator.agents.docs --check roles/* || exit 1
$BIN/python -m orchestrator.request.docs --check || exit 1
$BIN/pytest -q -n auto --maxprocesses=4 tests/unit || exit 1

step "shared images (cached by version)"
# The integration host's release (tests/integration/conftest.py), then those of scenario:distro entries.
for distro in $(printf '%s\n' "${AIDEVOPS_TEST_OS:-debian12}" $(printf '%s\n' $SCENARIOS | sed -n 's/^[^:]*://p') \
                | sort -u); do
  $BIN/aidevops sandbox image --os "$distro" || exit 1
done
$BIN/aidevops sandbox image || exit 1
$BIN/python -m orchestrator.sandbox.app_images || exit 1

step "lane 2 in the background: integration tests, then Molecule ($SCENARIOS)"
(
  start=$(date +%s)
  # --durations: the slowest tests in the log, to see where CI's time goes.
  $BIN/pytest -q --durations=10 tests/integration > "$LOGS/integration.log" 2>&1
  echo $? > "$LOGS/integration.rc"
  echo "integration tests: $(tail -n 1 "$LOGS/integration.log") (lane wall $(( $(date +%s) - start ))s)" \
    >> "$LOGS/integration.log"
  for s in $SCENARIOS; do
    start=$(date +%s)
    distro=${s#*:}; [ "$distro" = "$s" ] && distro=debian13
    MOLECULE_DISTRO=$distro PATH="$PWD/$BIN:$PATH" $BIN/molecule test -s "${s%%:*}" \
      || { echo "MOLECULE FAILED: $s"; exit 1; }
    echo "MOLECULE PASSED: $s in $(( $(date +%s) - start ))s"
  done > "$LOGS/molecule.log" 2>&1
) &
lane2=$!

step "lane 1: end-to-end tests"
$BIN/pytest -q --durations=15 tests/e2e; e2e=$?

step "waiting for lane 2 (integration, Molecule)"
wait $lane2; molecule=$?
integration=$(cat "$LOGS/integration.rc" 2>/dev/null || echo 1)
echo "--- integration ($LOGS/integration.log)"
if [ "$integration" -eq 0 ]; then
  sed -n '/slowest 10 durations/,$p' "$LOGS/integration.log"
else
  tail -n 200 "$LOGS/integration.log"
fi
echo "--- Molecule ($LOGS/molecule.log)"
grep -E "^MOLECULE (PASSED|FAILED)" "$LOGS/molecule.log" 2>/dev/null
if [ $molecule -ne 0 ]; then
  echo "--- last lines of $LOGS/molecule.log"
  tail -n 150 "$LOGS/molecule.log"
fi

step "summary"
echo "integration: $([ "$integration" -eq 0 ] && echo passed || echo FAILED)"
echo "e2e:         $([ $e2e -eq 0 ] && echo passed || echo FAILED)"
echo "molecule:    $([ $molecule -eq 0 ] && echo passed || echo FAILED)"
[ "$integration" -eq 0 ] && [ $e2e -eq 0 ] && [ $molecule -eq 0 ]
