#!/usr/bin/env bash
# Installs the controller-side audit tools of `aidevops validate`: sslyze (TLS scan) in a venv of its own,
# because it pins cryptography<47 while ansible-core here gets a newer one. ssh-audit has no dependencies and
# comes with aidevops itself (pyproject.toml). The validator finds sslyze on PATH, beside its own Python, or in
# ~/.cache/aidevops/tools/sslyze. Does nothing when it is there already.
set -euo pipefail

venv="${AIDEVOPS_SSLYZE_VENV:-$HOME/.cache/aidevops/tools/sslyze}"
if [ -x "$venv/bin/sslyze" ]; then
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install -q 'sslyze>=6.3,<7'
echo "sslyze installed in $venv"
