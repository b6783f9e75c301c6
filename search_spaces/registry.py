"""One registry per kind: a name maps to a constructor in exactly one place.

timm's ``register_model`` idea, made strict: a duplicate name is an error (timm only
warns), and an unknown name is a one-line error that lists the names there are and the
closest ones. Configs and the command line turn names into objects through a registry;
everything below passes objects.
"""
from __future__ import annotations

import difflib
from types import MappingProxyType
from typing import Any, Callable, Generic, Iterable, Iterator, TypeVar

from .errors import NasError

T = TypeVar("T")


class RegistryError(NasError, ValueError):
    """An unknown name, or a name registered twice."""


class Registry(Generic[T]):
    """An immutable ``name -> constructor`` table of one kind (``space``, ``search`` ...).

    ``kind`` names the table in errors: ``search: 'evolutoin' is not one of random,
    evolution, ...; did you mean evolution?``.
    """

    def __init__(self, kind: str, entries: Iterable[tuple[str, Callable[..., T]]] = ()) -> None:
        table: dict[str, Callable[..., T]] = {}
        for name, constructor in entries:
            if name in table:
                raise RegistryError(f"{kind}: {name!r} is registered twice")
            table[name] = constructor
        self.kind = kind
        self._entries = MappingProxyType(table)

    def with_entry(self, name: str, constructor: Callable[..., T]) -> "Registry[T]":
        """A new registry with one more entry (``name`` must be new); this one is unchanged."""
        return Registry(self.kind, [*self._entries.items(), (name, constructor)])

    def __contains__(self, name: object) -> bool:
        return name in self._entries

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def names(self) -> tuple[str, ...]:
        return tuple(self._entries)

    def constructor(self, name: str) -> Callable[..., T]:
        """The constructor registered as ``name``; ``RegistryError`` for an unknown name."""
        if not isinstance(name, str) or name not in self._entries:
            close = difflib.get_close_matches(str(name), list(self._entries), n=2, cutoff=0.6)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise RegistryError(f"{self.kind}: {name!r} is not one of {', '.join(self._entries)}{hint}")
        return self._entries[name]

    def create(self, name: str, *args: Any, **kwargs: Any) -> T:
        """``constructor(name)(*args, **kwargs)``."""
        return self.constructor(name)(*args, **kwargs)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {list(self._entries)})"
