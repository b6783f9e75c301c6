"""Two-objective fronts: the non-dominated points and the hypervolume of a staircase."""
from __future__ import annotations

import pytest

from nasbench.run.pareto import hypervolume, pareto_front


def test_the_hypervolume_of_a_staircase():
    # (ms, accuracy): two points of the front and one it dominates; reference (10 ms, 0 accuracy)
    points = [(2.0, 0.5), (6.0, 0.8), (7.0, 0.4)]
    assert pareto_front(points) == [0, 1]
    assert hypervolume(points, (10.0, 0.0)) == pytest.approx(0.5 * 8 + 0.3 * 4)
    assert hypervolume(points[2:], (10.0, 0.0)) == pytest.approx(0.4 * 3)
    assert hypervolume([], (10.0, 0.0)) == 0.0 == hypervolume([(11.0, 0.9)], (10.0, 0.0))
