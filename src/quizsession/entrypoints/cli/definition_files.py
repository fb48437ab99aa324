"""Quiz definition files on the command line: reading them, and saying what is
wrong with them where it is, as ``FILE:LINE:COLUMN: message``.

- A file that cannot be read, is not UTF-8, or whose YAML/JSON is broken raises
  ``DefinitionFileError`` with one line (``quiz.yaml:12:5: expected ...``). So does
  a key given twice in one mapping, which YAML and JSON parsers otherwise resolve
  silently by keeping the last one.
- ``describe_problems`` renders the validation's problems (``parse_quiz``) as
  ``quiz.yaml:14:9: test.questions[2].choices[1].text: is required``: the line
  and column of the value in the file (of the mapping that lacks a missing key),
  and the path with positions counted from 1, like lines. The validation itself,
  and so the HTTP API's 422, keeps RFC 6901 JSON pointers counted from 0
  (``/test/questions/1/choices/0/text``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

Position = tuple[int, int]  # line, column, both from 1


class DefinitionFileError(Exception):
    """The file cannot be read or parsed: ``str()`` is the one line to show."""


@dataclass(frozen=True)
class DefinitionFile:
    path: Path
    raw: object
    #: The composed YAML (JSON is read as YAML for positions), if it could be.
    root: Node | None

    def position(self, pointer: str) -> Position | None:
        """Where the value at the JSON pointer ``pointer`` is, or the nearest
        enclosing node that exists (a missing key: its mapping)."""
        node = self.root
        if node is None:
            return None
        segments = _segments(pointer)
        for n, segment in enumerate(segments, start=1):
            found = _child(node, segment)
            if found is None:
                break
            key, value = found
            # The last key itself (an unknown key, a wrong value on its line).
            node = key if key is not None and n == len(segments) else value
        return node.start_mark.line + 1, node.start_mark.column + 1

    def located(self, position: Position | None) -> str:
        if position is None:
            return str(self.path)
        return f"{self.path}:{position[0]}:{position[1]}"


def read_definition(path: Path) -> DefinitionFile:
    """Read and parse a YAML or JSON (by the ``.json`` suffix) definition."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise DefinitionFileError(f"{path}: no such file") from exc
    except UnicodeDecodeError as exc:
        raise DefinitionFileError(f"{path}: not UTF-8 text (byte {exc.start})") from exc
    except OSError as exc:
        raise DefinitionFileError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    if path.suffix.lower() == ".json":
        return _read_json(path, text)
    try:
        loader = yaml.SafeLoader(text)
        try:
            root = loader.get_single_node()
            if root is not None:
                _refuse_duplicates(path, root)
            raw = loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        raise DefinitionFileError(_yaml_message(path, exc)) from exc
    except yaml.YAMLError as exc:
        raise DefinitionFileError(f"{path}: {exc}") from exc
    return DefinitionFile(path, raw, root)


def describe_problems(
    source: DefinitionFile, problems: Iterable[Mapping[str, object]]
) -> list[str]:
    """One line per problem, ``FILE:LINE:COLUMN: path: message``, in the order of
    the file (paths quoted in a message are rendered the same way)."""
    located = []
    for problem in problems:
        pointer, message = str(problem.get("path", "")), str(problem.get("message", ""))
        position = source.position(pointer)
        message = _QUOTED_POINTER.sub(lambda m: _quoted(source, m.group(0)), message)
        path = human_path(pointer)
        text = f"{path}: {message}" if path else message
        located.append((position or (0, 0), f"{source.located(position)}: {text}"))
    located.sort(key=lambda item: item[0])
    return [line for _, line in located]


#: A JSON pointer quoted in a problem's message ("first at /test/questions/0/id").
_QUOTED_POINTER = re.compile(r"(?<=\s)(?:/[^\s/)]+)+")


def _quoted(source: DefinitionFile, pointer: str) -> str:
    position = source.position(pointer)
    line = f", line {position[0]}" if position else ""
    return f"{human_path(pointer)}{line}"


def human_path(pointer: str) -> str:
    """``/test/questions/1/choices/0/text`` -> ``test.questions[2].choices[1].text``
    (positions from 1; the definition itself is ``""``)."""
    out = ""
    for segment in _segments(pointer):
        if segment.isdigit():
            out += f"[{int(segment) + 1}]"
        else:
            out += f".{segment}" if out else segment
    return out


def _segments(pointer: str) -> list[str]:
    if not pointer:
        return []
    return [s.replace("~1", "/").replace("~0", "~") for s in pointer.split("/")[1:]]


def _child(node: Node, segment: str) -> tuple[Node | None, Node] | None:
    """The key node (None in a sequence) and the value node at ``segment``."""
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if isinstance(key, ScalarNode) and key.value == segment:
                return key, value
        return None
    if isinstance(node, SequenceNode) and segment.isdigit():
        index = int(segment)
        return (None, node.value[index]) if index < len(node.value) else None
    return None


def _refuse_duplicates(path: Path, root: Node) -> None:
    stack = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, MappingNode):
            seen: dict[str, Node] = {}
            for key, value in node.value:
                if isinstance(key, ScalarNode) and key.tag != "tag:yaml.org,2002:merge":
                    if key.value in seen:
                        first = seen[key.value].start_mark.line + 1
                        mark = key.start_mark
                        raise DefinitionFileError(
                            f"{path}:{mark.line + 1}:{mark.column + 1}: "
                            f"duplicate key {key.value!r} (first at line {first})"
                        )
                    seen[key.value] = key
                stack.append(value)
        elif isinstance(node, SequenceNode):
            stack.extend(node.value)


def _yaml_message(path: Path, exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
    message = exc.problem or exc.context or "invalid YAML"
    if exc.context and exc.problem and exc.context_mark is not None:
        cm = exc.context_mark
        message += f" ({exc.context}, at {cm.line + 1}:{cm.column + 1})"
    return f"{where}: {message}"


def _read_json(path: Path, text: str) -> DefinitionFile:
    def pairs(items: list[tuple[str, object]]) -> dict[str, object]:
        seen: set[str] = set()
        for key, _ in items:
            if key in seen:
                raise DefinitionFileError(f"{path}: duplicate key {key!r}")
            seen.add(key)
        return dict(items)

    try:
        raw = json.loads(text, object_pairs_hook=pairs)
    except json.JSONDecodeError as exc:
        raise DefinitionFileError(f"{path}:{exc.lineno}:{exc.colno}: {exc.msg}") from exc
    try:  # JSON is (nearly always) YAML: its nodes give the positions
        root = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        root = None
    return DefinitionFile(path, raw, root)
