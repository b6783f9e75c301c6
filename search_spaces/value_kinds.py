"""Whether a setting's value has the kind its default or annotation asks for: the check
behind every "trainer.epochs: 'abc' is not an integer" (a config value from the command
line or a YAML file arrives as whatever it was spelt as)."""
from __future__ import annotations

import dataclasses
import inspect
import types
from typing import Any, Callable

KIND_NAMES = types.MappingProxyType({bool: "true or false", int: "an integer", float: "a number", str: "a string"})
PLAIN_KINDS = types.MappingProxyType({kind.__name__: kind for kind in KIND_NAMES})


def kind_problem(value: Any, kind: type) -> str | None:
    """Why ``value`` is not a ``kind`` (for ``float`` an int will do; ``bool`` is not
    taken for a number nor the other way round), or None when it is."""
    if kind is bool:
        fits = isinstance(value, bool)
    else:
        fits = not isinstance(value, bool) and isinstance(value, (int, float) if kind is float else kind)
    return None if fits else f"{value!r} is not {KIND_NAMES.get(kind, 'a ' + kind.__name__)}"


def annotation_problem(annotation: Any, value: Any) -> str | None:
    """Why ``value`` does not fit ``annotation`` when that is a plain kind (``int``), or
    one or None (``int | None``, ``Optional[int]``), as a type or as the string
    ``from __future__ import annotations`` leaves; None when it fits or when the
    annotation is anything else (not checked here)."""
    text = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    text = text.strip()
    if text.startswith("Optional[") and text.endswith("]"):
        text = f"{text[len('Optional['):-1]} | None"
    parts = [part.strip() for part in text.split("|")]
    kinds = [PLAIN_KINDS[part] for part in parts if part in PLAIN_KINDS]
    if len(kinds) != 1 or any(part not in PLAIN_KINDS and part != "None" for part in parts):
        return None
    if value is None and "None" in parts:
        return None
    return kind_problem(value, kinds[0])


def field_kind_problem(owner: type, name: str, value: Any) -> str | None:
    """Why ``value`` cannot be field ``name`` of the dataclass ``owner`` (its annotation,
    as ``annotation_problem`` reads it)."""
    annotations = {field.name: field.type for field in dataclasses.fields(owner)}
    return annotation_problem(annotations[name], value)


def parameter_problems(function: Callable[..., Any], params: dict[str, Any]) -> tuple[str, str] | None:
    """The first ``(name, why)`` of ``params`` that ``function``'s annotations refuse
    (``annotation_problem``); names it does not take are left to the call to refuse."""
    signature = inspect.signature(function)
    for name, value in params.items():
        parameter = signature.parameters.get(name)
        if parameter is not None:
            problem = annotation_problem(parameter.annotation, value)
            if problem:
                return name, problem
    return None
