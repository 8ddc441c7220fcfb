"""Role READMEs' variable tables, generated from each role's meta/argument_specs.yml (entry point `main`).

    python -m orchestrator.agents.docs roles/base_server          rewrite the table in roles/base_server/README.md
    python -m orchestrator.agents.docs --check roles/*            exit 1 if a README is stale

The table sits between the two markers below; the rest of the README is written by hand.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import yaml

BEGIN = "<!-- BEGIN ARGUMENT SPECS -->"
END = "<!-- END ARGUMENT SPECS -->"


def load_options(role_dir: Path, entry_point: str = "main") -> dict:
    spec = yaml.safe_load((Path(role_dir) / "meta" / "argument_specs.yml").read_text())
    return spec["argument_specs"][entry_point].get("options") or {}


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell."""
    return str(text).replace("|", "\\|").replace("\n", " ").strip()


def _code(value) -> str:
    """A default value as inline code, in JSON spelling (true, [], {"a": 1})."""
    return "`" + _cell(json.dumps(value)) + "`"


def render_variables(role_dir: Path | str) -> str:
    """A Markdown table of the role's variables: name, type, default, choices, description."""
    options = load_options(Path(role_dir))
    lines = [
        "| Variable | Type | Default | Choices | Description |",
        "|---|---|---|---|---|",
    ]
    for name in options:  # the spec's order, grouped by concern
        opt = options[name] or {}
        type_ = opt.get("type", "str")
        if type_ in ("list", "dict") and opt.get("elements"):
            type_ = f"{type_} of {opt['elements']}"
        default = _code(opt["default"]) if "default" in opt else ("*required*" if opt.get("required") else "")
        choices = ", ".join(f"`{c}`" for c in opt.get("choices", []))
        description = opt.get("description", "")
        if isinstance(description, list):
            description = " ".join(description)
        lines.append(f"| `{name}` | {type_} | {default} | {choices} | {_cell(description)} |")
    return "\n".join(lines) + "\n"


def updated_readme(readme: str, table: str) -> str:
    """The README text with the table between the markers replaced (ValueError if a marker is missing)."""
    start, end = readme.find(BEGIN), readme.find(END)
    if start < 0 or end < start:
        raise ValueError(f"the README needs the markers {BEGIN} and {END}")
    return readme[: start + len(BEGIN)] + "\n" + table + readme[end:]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m orchestrator.agents.docs", description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="do not write; exit 1 if a README is stale")
    parser.add_argument("roles", nargs="+", type=Path, metavar="ROLE_DIR")
    args = parser.parse_args(argv)
    stale = 0
    for role in args.roles:
        readme_path = role / "README.md"
        try:
            current = readme_path.read_text()
            wanted = updated_readme(current, render_variables(role))
        except (OSError, KeyError, ValueError) as exc:
            print(f"{role}: {exc}", file=sys.stderr)
            return 2
        if current == wanted:
            continue
        if args.check:
            print(f"{readme_path} is stale: run python -m orchestrator.agents.docs {role}", file=sys.stderr)
            stale += 1
        else:
            readme_path.write_text(wanted)
            print(f"updated {readme_path}")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
