"""Whether a setting's value has the kind its default or annotation asks for: the check
behind every "trainer.epochs: 'abc' is not an integer" (a config value from the command
line or a YAML file arrives as whatever it was spelt as)."""
from __future__ import annotations

import types
import typing
from typing import Any

KIND_NAMES = types.MappingProxyType({bool: "true or false", int: "an integer", float: "a number", str: "a string"})


def kind_problem(value: Any, kind: type) -> str | None:
    """Why ``value`` is not a ``kind`` (for ``float`` an int will do; ``bool`` is not
    taken for a number nor the other way round), or None when it is."""
    if kind is bool:
        fits = isinstance(value, bool)
    else:
        fits = not isinstance(value, bool) and isinstance(value, (int, float) if kind is float else kind)
    return None if fits else f"{value!r} is not {KIND_NAMES.get(kind, 'a ' + kind.__name__)}"


def field_kind_problem(owner: type, name: str, value: Any) -> str | None:
    """Why ``value`` cannot be field ``name`` of the dataclass ``owner``, judged by the
    field's annotation when it is a plain kind (``Optional`` ones also take None); None
    when it can, or when the annotation is not a plain kind."""
    hint = typing.get_type_hints(owner)[name]
    kinds = typing.get_args(hint) or (hint,)
    plain = [kind for kind in kinds if kind in KIND_NAMES]
    if not plain or (value is None and type(None) in kinds):
        return None
    return kind_problem(value, plain[0])
