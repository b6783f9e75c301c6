"""Search spaces: which genotypes a search may propose (``base.Space``).

``SPACES`` is the one registry of spaces: a name maps to a constructor taking no
arguments. Adding a space is one module here, one line below and one YAML file in
``nasbench/conf/space/``.
"""
from __future__ import annotations

from ..registry import Registry
from .base import Decision, Space, SpaceError
from .blocks_space import BlocksSpace
from .cell_spaces import amoeba_space, darts_space, nasnet_space
from .nasbench201 import NasBench201Space

SPACES: Registry[Space] = Registry("space", [
    ("nasnet", nasnet_space),
    ("amoeba", amoeba_space),
    ("darts", darts_space),
    ("nasbench201", NasBench201Space),
    ("blocks", BlocksSpace),
])


def make_space(name: str) -> Space:
    """The space registered as ``name`` (``RegistryError`` names the known ones)."""
    return SPACES.create(name)


__all__ = ["SPACES", "Decision", "Space", "SpaceError", "make_space"]
