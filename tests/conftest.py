"""Shared fixtures. Only tests that request ``ray_session`` start Ray."""
from __future__ import annotations

import pytest


def pytest_collection_modifyitems(items):
    """Under pytest-xdist (``-n 2``, the default run), every test that uses Ray runs on one
    worker (``--dist loadgroup``), so that the session starts one Ray, not one per worker."""
    for item in items:
        if "ray_session" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.xdist_group("ray"))


@pytest.fixture(scope="session")
def ray_session():
    """One local Ray (two CPUs) for the whole session; a Ray already started is reused and
    left to whoever started it."""
    ray = pytest.importorskip("ray")
    started = not ray.is_initialized()
    if started:
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    if started:
        ray.shutdown()


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread():
    """The tests' networks and batches are tiny: a second intra-op thread gains nothing and,
    when other processes share the cores, makes them many times slower (OpenMP threads spin)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session")
def search_overrides():
    """The overrides that pick the registered strategy ``name``: its YAML file, or (one
    without a file of its own) its name on top of tpe's."""
    from nasbench.config.schema import CONF_DIR

    def overrides(name: str) -> list[str]:
        has_yaml = (CONF_DIR / "search" / f"{name}.yaml").exists()
        return [f"search={name}"] if has_yaml else ["search=tpe", f"search.name={name}"]
    return overrides
