"""Reading the inventory's YAML files strictly (every reader of the inventory uses StrictLoader): a duplicate
key, bytes that are not UTF-8, a file too large to be a settings file or one that cannot be read is one error
line naming the file, never a traceback.

PyYAML's SafeLoader keeps the last of two equal keys without a word; Ansible warns and does the same. In a
request that silently drops what the user wrote first, so the loader here refuses it.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import yaml

from orchestrator.errors import BadInput

MAX_BYTES = 4_000_000  # no inventory file is near this; a larger one is a mistake (a pasted log, a binary)


# libyaml's parser when PyYAML was built with it (its wheels are): the pure-Python one was the largest part of a
# small run's start, reading every role's argument specs (about 0.6 s of the 2.7 s aidevops adds to a tiny play).
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class StrictLoader(_SafeLoader):
    """SafeLoader that refuses a mapping holding the same key twice."""

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                hash(key)
            except TypeError:
                raise yaml.constructor.ConstructorError(
                    None, None, "a key that is a list or a mapping", key_node.start_mark) from None
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {str(key)[:40]!r} (first on line {seen[key].line + 1})",
                    key_node.start_mark)
            seen[key] = key_node.start_mark
        return super().construct_mapping(node, deep=deep)


def safe_load(text: str) -> Any:
    """yaml.safe_load, through libyaml's parser where there is one (the project's own files: specs, defaults)."""
    return yaml.load(text, Loader=_SafeLoader)  # SafeLoader or CSafeLoader: safe either way


def read_text(path: Path) -> str:
    """A text file of the inventory: UTF-8 (a BOM is allowed), at most MAX_BYTES."""
    try:
        if path.is_dir():
            raise BadInput("expected a file, found a folder", where=str(path))
        size = path.stat().st_size
        if size > MAX_BYTES:
            raise BadInput(f"the file is {size // 1000} kB, larger than a settings file can be",
                           where=str(path), hint=f"at most {MAX_BYTES // 1000} kB")
        data = path.read_bytes()
    except OSError as exc:
        raise BadInput(f"cannot read the file: {exc.strerror or exc}", where=str(path)) from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise BadInput(f"the file is not UTF-8 text (byte {data[exc.start]:#04x})", where=f"{path}:{line}",
                       hint="save it as UTF-8") from None


def parse_yaml(text: str, where: str) -> Any:
    try:
        return yaml.load(text, Loader=StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        at = f"{where}:{mark.line + 1}:{mark.column + 1}" if mark else where
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        tabs = "\t" in str(problem) or "\\t" in str(problem) or "tab" in str(problem) or _at(text, mark) == "\t"
        hint = "indent with spaces, not tabs" if tabs else "fix the syntax"
        raise BadInput(f"invalid YAML: {problem}", where=at, hint=hint) from None
    except RecursionError:
        raise BadInput("invalid YAML: nested too deeply", where=where) from None


def _at(text: str, mark: Any) -> str:
    """The character at an error's mark (libyaml's messages do not name it, the pure-Python parser's do)."""
    if mark is None:
        return ""
    lines = text.splitlines()
    line = lines[mark.line] if 0 <= mark.line < len(lines) else ""
    return line[mark.column] if 0 <= mark.column < len(line) else ""


def load_yaml(path: Path) -> Any:
    return parse_yaml(read_text(path), str(path))


# Ansible's own tags: an inline-encrypted value and a value never templated. Read as the text they hold;
# Ansible decrypts and uses them, the checks here only need to see that something is there.
StrictLoader.add_constructor("!vault", lambda loader, node: loader.construct_scalar(node))
StrictLoader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))


def set_setting(path: Path, name: str, value: str, *, note: str = "set by `aidevops upgrade`") -> Path:
    """Set the top-level setting NAME to the string VALUE in the YAML file PATH, keeping everything else as written
    (comments, order, quoting), atomically; a missing file is created. See with_setting."""
    from orchestrator import atomic

    path = Path(path)
    updated = with_setting(path, name, value, note=note)
    atomic.write_text(path, updated, mode=(path.stat().st_mode & 0o7777) if path.exists() else 0o644)
    return path


def with_setting(path: Path, name: str, value: str, *, note: str = "set by `aidevops upgrade`") -> str:
    """The text of the YAML file PATH with the top-level setting NAME set to the string VALUE: its line replaced,
    or appended with a comment when absent. BadInput when that cannot be done safely (set twice, written as a
    block, or the result would not read back as NAME == VALUE); nothing is written."""
    if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise ValueError(f"not a setting name: {name!r}")
    path = Path(path)
    text = read_text(path) if path.exists() else "---\n"
    line = f"{name}: {json.dumps(value)}"  # a JSON string is a YAML double-quoted scalar
    pattern = re.compile(rf"^{re.escape(name)}[ \t]*:([^\n]*)$", re.MULTILINE)
    found = pattern.findall(text)
    if len(found) > 1:
        raise BadInput(f"{name} is set {len(found)} times", where=str(path), hint="keep one")
    if found and re.fullmatch(r"[ \t]*([|>].*)?(#.*)?", found[0]):  # a block: its value is on the next lines
        raise BadInput(f"{name} is written over several lines; cannot change it in place", where=str(path),
                       hint=f"write it on one line, e.g. {line}")
    if found:
        updated = pattern.sub(lambda _: line, text)
    else:
        updated = text + ("" if text.endswith("\n") else "\n") + f"# {note}\n{line}\n"
    data = parse_yaml(updated, str(path))
    if not isinstance(data, dict) or data.get(name) != value:
        raise BadInput(f"cannot set {name} in this file", where=str(path), hint=f"set it by hand: {line}")
    return updated
