"""Search spaces: which genotypes a search may propose (``base.Space``).

``SPACES`` is the one registry of spaces: a name maps to a constructor taking no
arguments. Adding a space is one module here, one line below and one YAML file in
``nasbench/conf/space/``. ``cell_space(name)`` finds a two-input cell space by name. The
package may import the skeletons (the network around a cell), the zoo's blocks, the
genotype, the op catalog and the DSL; the formats, the supernet and the published cells
above use it.
"""
from __future__ import annotations

from ..registry import Registry
from .base import Decision, Space, SpaceError
from .blocks_space import BlocksSpace
from .cell_spaces import TwoInputCellSpace, amoeba_space, darts_space, nasnet_space
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


def cell_space_names() -> tuple[str, ...]:
    """The registered spaces that are two-input cell spaces (nasnet, amoeba, darts)."""
    return tuple(name for name in SPACES if isinstance(SPACES.create(name), TwoInputCellSpace))


def cell_space(name: str) -> TwoInputCellSpace:
    """The cell space registered as ``name`` (nasnet, amoeba, darts, ...)."""
    space = SPACES.create(name) if name in SPACES else None
    if not isinstance(space, TwoInputCellSpace):
        raise SpaceError(f"{name!r} is not a cell space; known: {', '.join(cell_space_names())}")
    return space


__all__ = ["SPACES", "Decision", "Space", "SpaceError", "cell_space", "cell_space_names", "make_space"]
