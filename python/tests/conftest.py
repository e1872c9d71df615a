"""Fixtures of the package's own tests (the chiprt plugin gives chip_pool and chip_worker)."""
import os

import pytest

import chiprt

# Subprocesses (pytester sessions, the README snippet) run in other folders: relative paths in
# the environment (PYTHONPATH=build/python from the repository root) must name the same folders.
for _name in ("PYTHONPATH", "CHIPRT_EXAMPLES"):
    if os.environ.get(_name):
        os.environ[_name] = os.pathsep.join(os.path.abspath(p) if p else p
                                            for p in os.environ[_name].split(os.pathsep))


@pytest.fixture(scope="module")
def worker():
    """A worker owning its own small chip, for the tests that do not need the session's."""
    with chiprt.ChipWorker(runtime="tmr", device_memory=256 << 20) as w:
        yield w


@pytest.fixture(params=["tmr", "hbg"])
def any_worker(request, chip_pool):
    return chip_pool.worker(request.param)
