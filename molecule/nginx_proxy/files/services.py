"""SandboxServices for Molecule: `services.py up|down NETWORK PREFIX DOMAIN STATE_DIR`.

`up` prints up()'s answer as JSON on stdout and writes STATE_DIR/inventory-vars.yml (the variables
`aidevops sandbox up` puts into hosts.yml); logs go to stderr."""

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))  # the repository root

import yaml

from orchestrator.sandbox.services import SandboxServices


def main() -> int:
    action, network, prefix, domain, state_dir = sys.argv[1:6]
    services = SandboxServices(network, prefix, domain, Path(state_dir))
    if action == "down":
        services.down(log=lambda m: print(m, file=sys.stderr))
        return 0
    answer = services.up(log=lambda m: print(m, file=sys.stderr))
    (Path(state_dir) / "inventory-vars.yml").write_text(
        yaml.safe_dump(SandboxServices.inventory_vars(answer), sort_keys=False)
    )
    print(json.dumps(answer))
    return 0


if __name__ == "__main__":
    sys.exit(main())
