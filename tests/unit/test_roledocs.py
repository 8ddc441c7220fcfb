"""Every role declares each of its defaults in meta/argument_specs.yml (and nothing more), with the same
default value, and its README's variable table is the one orchestrator.agents.docs generates."""

from pathlib import Path

import pytest
import yaml

from orchestrator.agents import docs as roledocs

ROLES_DIR = Path(__file__).resolve().parents[2] / "roles"
ROLES = sorted(p for p in ROLES_DIR.iterdir() if (p / "meta" / "argument_specs.yml").is_file()) \
    if ROLES_DIR.is_dir() else []


def defaults(role: Path) -> dict:
    path = role / "defaults" / "main.yml"
    return (yaml.safe_load(path.read_text()) or {}) if path.is_file() else {}


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_argument_specs_match_defaults(role):
    options = roledocs.load_options(role)
    values = defaults(role)
    assert sorted(set(values) - set(options)) == [], "defaults without an argument spec"
    assert sorted(set(options) - set(values)) == [], "argument specs without a default in defaults/main.yml"
    for name, value in values.items():
        assert options[name].get("default") == value, f"{name}: the spec's default differs from defaults/main.yml"
        assert options[name].get("description"), f"{name} has no description"
        assert name.startswith(role.name + "_"), f"{name} is not prefixed with {role.name}_"


@pytest.mark.parametrize("role", ROLES, ids=lambda p: p.name)
def test_readme_variable_table_is_up_to_date(role):
    readme = (role / "README.md").read_text()
    assert readme == roledocs.updated_readme(readme, roledocs.render_variables(role)), (
        f"run: python -m orchestrator.agents.docs roles/{role.name}"
    )


def test_renderer_and_check_on_a_small_role(tmp_path, capsys):
    role = tmp_path / "demo"
    (role / "meta").mkdir(parents=True)
    (role / "meta" / "argument_specs.yml").write_text(yaml.safe_dump({"argument_specs": {"main": {"options": {
        "demo_mode": {"type": "str", "choices": ["a", "b"], "default": "a", "description": "Pick a|b."},
        "demo_ports": {"type": "list", "elements": "int", "default": [80], "description": "Ports."},
    }}}}))
    (role / "README.md").write_text(f"# demo\n{roledocs.BEGIN}\nold\n{roledocs.END}\nend\n")

    table = roledocs.render_variables(role)
    assert "| `demo_mode` | str | `\"a\"` | `a`, `b` | Pick a\\|b. |" in table
    assert "| `demo_ports` | list of int | `[80]` |  | Ports. |" in table

    assert roledocs.main(["--check", str(role)]) == 1
    assert "stale" in capsys.readouterr().err
    assert roledocs.main([str(role)]) == 0
    assert roledocs.main(["--check", str(role)]) == 0
    text = (role / "README.md").read_text()
    assert text.startswith("# demo\n") and text.endswith(f"{roledocs.END}\nend\n") and "old" not in text
