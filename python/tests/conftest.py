"""Fixtures of the package's own tests (the chiprt plugin gives chip_pool and chip_worker)."""
import os

import pytest

import chiprt

# pytester's subprocess sessions start in a folder of their own, where a relative PYTHONPATH
# (PYTHONPATH=build/python) would no longer find the package: make it absolute.
os.environ["PYTHONPATH"] = os.pathsep.join(
    os.path.abspath(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p)


@pytest.fixture(scope="module")
def worker():
    """A worker owning its own small chip, for the tests that do not need the session's."""
    with chiprt.ChipWorker(runtime="tmr", device_memory=256 << 20) as w:
        yield w


@pytest.fixture(params=["tmr", "hbg"])
def any_worker(request, chip_pool):
    return chip_pool.worker(request.param)
