"""Read a policy from YAML or a mapping, reporting every problem by its path.

A problem's path reads as the policy is written: `ladder[2].after_days`,
`send_window.days[1]`. Messages are plain English, for the collections team
that writes the file, not for the engineers who wrote the models.
"""

import difflib
import re
import typing
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ValidationError
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from shared.policy.model import RULE_ERROR, Policy, ladder_problems

Loc = tuple[str | int, ...]

_INT_TAG = "tag:yaml.org,2002:int"
_MAX_DEPTH = 32
_LAST_STEP = re.compile(r"(\.?[^.\[]+|\[\d+\])$")


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a policy: where (`path`, and `line` in YAML) and what."""

    path: str
    message: str
    line: int | None = None

    def __str__(self) -> str:
        return f"{self.path}: {self.message}" if self.path else self.message


class PolicyError(ValueError):
    """A policy that cannot be used; `problems` lists every reason, in file order."""

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("; ".join(str(problem) for problem in problems))
        self.problems = problems


class _Loader(yaml.SafeLoader):
    """Safe YAML without base-60 numbers, so an unquoted `17:00` stays a time."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != _INT_TAG]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _INT_TAG, re.compile(r"^[-+]?(0|[1-9][0-9_]*)$"), list("-+0123456789")
)


def load_policy(source: str | Path) -> Policy:
    """The policy in `source`: YAML text, or the `Path` of a YAML file.

    Raises `PolicyError` listing every problem found, with line numbers.
    """
    if isinstance(source, Path):
        try:
            text = source.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as error:
            reason = getattr(error, "strerror", None) or str(error)
            raise PolicyError([Problem("", f"cannot be read: {reason}")]) from None
    else:
        text = source

    data, lines, problems = parse_yaml(text)
    if isinstance(data, str) and data.endswith((".yaml", ".yml")):
        raise PolicyError(
            [Problem("", "is a file name, not a policy; pass a Path to read a file")]
        )
    if data is None and not problems:
        problems = [Problem("", "is empty; a policy needs at least name and ladder")]
    if problems and data is None:
        raise PolicyError(problems)

    try:
        policy = _validate(data)
    except PolicyError as error:
        found = [
            Problem(problem.path, problem.message, line_of(problem.path, lines))
            for problem in error.problems
        ]
        raise PolicyError(sorted(problems + found, key=file_order)) from None
    if problems:
        raise PolicyError(problems)
    return policy


def policy_from_mapping(data: object) -> Policy:
    """The policy held in parsed JSON or YAML; raises `PolicyError` listing every
    problem."""
    return _validate(data)


def _validate(data: object) -> Policy:
    if not isinstance(data, dict):
        raise PolicyError(
            [Problem("", "a policy is a mapping of keys, like `name: standard-b2b`")]
        )
    try:
        return Policy.model_validate(data)
    except ValidationError as error:
        problems = list(explain(error, Policy))
    raise PolicyError(problems + _order_problems(data.get("ladder"), problems))


def _order_problems(ladder: object, found: list[Problem]) -> list[Problem]:
    # The ladder's order is checked by the model only once every stage is
    # valid; checked here on the parsed stages, it is reported alongside.
    if not isinstance(ladder, list):
        return []
    known = {problem.path for problem in found}
    order = [
        Problem(format_path(("ladder", *relative)), message)
        for relative, message in ladder_problems(ladder)
    ]
    return [problem for problem in order if problem.path not in known]


def parse_yaml(text: str) -> tuple[Any, dict[str, int], list[Problem]]:
    """The data of a YAML document, the line of every key and item by its path,
    and the problems found reading it (bad syntax, a key given twice)."""
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}, []
        lines: dict[str, int] = {}
        duplicates: list[Problem] = []
        _map_lines(node, (), lines, duplicates)
        data = loader.construct_document(node)
    except yaml.MarkedYAMLError as error:
        return None, {}, [_syntax_problem(error)]
    except yaml.YAMLError as error:
        return None, {}, [Problem("", f"is not valid YAML: {error}")]
    finally:
        loader.dispose()
    return data, lines, duplicates


def _syntax_problem(error: yaml.MarkedYAMLError) -> Problem:
    mark = error.problem_mark or error.context_mark
    what = error.problem or error.context or "cannot be read"
    if mark is None:
        return Problem("", f"is not valid YAML: {what}")
    return Problem(
        "",
        f"is not valid YAML at line {mark.line + 1}, column {mark.column + 1}: {what}",
        mark.line + 1,
    )


def _map_lines(
    node: Node, loc: Loc, lines: dict[str, int], duplicates: list[Problem]
) -> None:
    # Records the line of every key and item, and finds keys given twice,
    # which YAML loaders otherwise settle silently by keeping the last.
    if len(loc) > _MAX_DEPTH:
        return
    lines.setdefault(format_path(loc), node.start_mark.line + 1)
    if isinstance(node, MappingNode):
        seen: dict[str, int] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode):
                continue
            key = str(key_node.value)
            line = key_node.start_mark.line + 1
            child = (*loc, key)
            if key in seen:
                duplicates.append(
                    Problem(
                        format_path(child),
                        f"is given twice (first on line {seen[key]})",
                        line,
                    )
                )
            else:
                seen[key] = line
                lines[format_path(child)] = line
            _map_lines(value_node, child, lines, duplicates)
    elif isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            _map_lines(item, (*loc, index), lines, duplicates)


def line_of(path: str, lines: dict[str, int]) -> int | None:
    """The line of `path`; a missing key has none of its own, so its parent's."""
    while path:
        if path in lines:
            return lines[path]
        path = _LAST_STEP.sub("", path)
    return lines.get("")


def file_order(problem: Problem) -> int:
    """Sorts problems as they appear in the file, those without a line first."""
    return problem.line if problem.line is not None else 0


def format_path(loc: Loc) -> str:
    """`("ladder", 2, "after_days")` as `ladder[2].after_days`."""
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text


def explain(
    error: ValidationError, root: type[BaseModel], within: Loc = ()
) -> Iterator[Problem]:
    """The errors of validating `root` in plain words, their paths under `within`."""
    for item in error.errors(include_url=False):
        loc: Loc = tuple(item["loc"])
        context = item.get("ctx") or {}
        if item["type"] == RULE_ERROR:
            for relative, message in context["problems"]:
                yield Problem(format_path((*within, *loc, *relative)), message)
        elif item["type"] == "extra_forbidden":
            yield Problem(format_path((*within, *loc)), _unknown_key(loc, root))
        else:
            message = _plain(item["type"], context, item)
            yield Problem(format_path((*within, *loc)), message)


def _plain(kind: str, context: dict[str, Any], item: Any) -> str:
    given = item.get("input")
    if kind == "missing":
        return "is required"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"must be a whole number, not {_shown(given)}"
    if kind in ("bool_type", "bool_parsing"):
        return f"must be true or false, not {_shown(given)}"
    if kind == "greater_than_equal":
        return f"must be {context['ge']} or more"
    if kind == "literal_error":
        return f"must be {context['expected']}, not {_shown(given)}"
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return f"must be a mapping of keys, not {_shown(given)}"
    if kind == "list_type":
        return f"must be a list, like [a, b], not {_shown(given)}"
    if kind == "too_short":
        return "must not be empty"
    if kind == "string_type":
        return f"must be text, not {_shown(given)}"
    if kind == "value_error" and "error" in context:
        return str(context["error"])
    return str(item["msg"])


def _shown(value: object) -> str:
    if value is None:
        return "nothing"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _unknown_key(loc: Loc, root: type[BaseModel]) -> str:
    model = _model_at(loc[:-1], root)
    key = str(loc[-1])
    if model is None:
        return "unknown key"
    return unknown_name(key, list(model.model_fields), "key")


def unknown_name(name: str, known: list[str], what: str, *, shown: bool = False) -> str:
    """Says `name` is not one of `known`, suggesting the closest if one is close;
    `shown` names it too, for a value (a key is named by its path already)."""
    unknown = f"unknown {what} `{name}`" if shown else f"unknown {what}"
    close = difflib.get_close_matches(name, known, n=1, cutoff=0.6)
    if close:
        return f"{unknown}; did you mean `{close[0]}`?"
    return f"{unknown}; known {what}s are " + ", ".join(known)


def _model_at(loc: Loc, root: type[BaseModel]) -> type[BaseModel] | None:
    model: type[BaseModel] | None = root
    for part in loc:
        if isinstance(part, int):
            continue
        if model is None or part not in model.model_fields:
            return None
        model = _model_in(model.model_fields[part].annotation)
    return model


def _model_in(annotation: object) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for argument in typing.get_args(annotation):
        found = _model_in(argument)
        if found is not None:
            return found
    return None
