"""Fixtures of the package's own tests (the chiprt plugin gives chip_pool and chip_worker)."""
import pytest

import chiprt


@pytest.fixture(scope="module")
def worker():
    """A worker owning its own small chip, for the tests that do not need the session's."""
    with chiprt.ChipWorker(runtime="tmr", device_memory=256 << 20) as w:
        yield w


@pytest.fixture(params=["tmr", "hbg"])
def any_worker(request, chip_pool):
    return chip_pool.worker(request.param)
