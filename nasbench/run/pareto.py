"""Two-objective fronts: accuracy (higher is better) against a cost (lower is better).

``pareto_front`` picks the non-dominated points; ``hypervolume`` measures a front by the
area it dominates up to a reference point (Zitzler & Thiele, "Multiobjective Optimization
Using Evolutionary Algorithms: A Comparative Case Study", PPSN 1998), so two fronts are
compared by one number, and a found front by its ratio to the true one.
"""
from __future__ import annotations

from typing import Sequence


def pareto_front(points: Sequence[tuple[float, float]]) -> list[int]:
    """Indices of the ``(cost, accuracy)`` points no other beats on both, by cost."""
    order = sorted(range(len(points)), key=lambda i: (points[i][0], -points[i][1]))
    front, best_accuracy = [], float("-inf")
    for index in order:
        if points[index][1] > best_accuracy:
            front.append(index)
            best_accuracy = points[index][1]
    return front


def hypervolume(points: Sequence[tuple[float, float]], reference: tuple[float, float]) -> float:
    """The area the ``(cost, accuracy)`` points dominate up to ``reference`` (the worst
    cost and the worst accuracy counted): by cost, each front point adds the strip its
    accuracy lifts the front by."""
    inside = [(cost, acc) for cost, acc in points if cost < reference[0] and acc > reference[1]]
    area, best = 0.0, reference[1]
    for cost, acc in sorted(inside, key=lambda p: (p[0], -p[1])):
        if acc > best:
            area += (acc - best) * (reference[0] - cost)
            best = acc
    return area
