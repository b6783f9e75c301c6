"""Names that stand for networks: zoo entries (or their torchvision/timm names) and network
genotype files (a file exported from a zoo entry carries that entry's figures)."""
from __future__ import annotations

from pathlib import Path
from typing import Any, Mapping

from nasbench.core.errors import first_line
from nasbench.networks.resolve.resolved import ResolveError, Resolved, zoo_genotype
from search_spaces.genotype import GenotypeError, NetworkGenotype
from search_spaces.zoo import Zoo, ZooEntry, ZooError


def from_zoo(text: str, entry: ZooEntry, fixed: str | None, variant: str | None) -> Resolved:
    if fixed is not None and variant is not None and variant != fixed:
        raise ResolveError(f"{text} is variant {fixed!r} of {entry.name}; variant {variant!r} is another network")
    chosen = variant or fixed or entry.default_variant
    try:
        genotype = zoo_genotype(entry, chosen)
    except ZooError as exc:
        raise ResolveError(str(exc)) from exc
    return Resolved("zoo", entry.name, entry=entry, variant=chosen, fixed_variant=variant or fixed, genotype=genotype)


def genotype_file(path: Path, data: Any, registry: Zoo) -> Resolved:
    try:
        genotype = NetworkGenotype.from_dict(data).to_dict()
    except GenotypeError as exc:
        raise ResolveError(f"{path}: {first_line(exc)}") from exc
    entry, variant = _matching_entry(genotype, registry)
    display = entry.name if entry is not None else (genotype.get("name") or path.stem)
    return Resolved("genotype", display, str(path.resolve()), entry=entry, variant=variant, genotype=genotype)


def _matching_entry(genotype: Mapping[str, Any], registry: Zoo) -> tuple[ZooEntry | None, str | None]:
    """The zoo entry and variant a genotype file was exported from, if its graph is theirs."""
    base, _, variant = str(genotype.get("name", "")).partition(":")
    entry = registry.get(base)
    if entry is None:
        return None, None
    variant = variant or entry.default_variant
    if variant not in entry.variants:
        return None, None
    if NetworkGenotype.from_dict(entry.genotype(variant)).key() != NetworkGenotype.from_dict(genotype).key():
        return None, None
    return entry, variant


def looks_like_genotype(data: Any) -> bool:
    return isinstance(data, Mapping) and ("stages" in data or "stem" in data or "head" in data)
