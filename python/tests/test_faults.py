"""A kernel that crashes on the device: DeviceLost in the run, a working worker after reset()."""
import numpy as np
import pytest

import chiprt
from helpers import copy_image


@pytest.mark.parametrize("runtime", ["tmr", "hbg"])
def test_a_crash_is_device_lost_until_reset(runtime):
    with chiprt.ChipWorker(runtime=runtime, device_memory=64 << 20) as w:
        handle = w.register(copy_image())
        x = np.arange(16, dtype=np.float32)
        with pytest.raises(chiprt.DeviceLost) as e:
            w.run(handle, x=x, fault=2)
        assert e.value.code == "device_lost"
        assert w.health() is not None
        with pytest.raises(chiprt.DeviceLost):
            w.register(copy_image())
        w.reset()
        assert w.health() is None and w.live_handles() == []
        with pytest.raises(chiprt.NotFound):
            w.unregister(handle)  # went with the lost device
        handle = w.register(copy_image())
        np.testing.assert_array_equal(w.run(handle, x=x)["y"], x)
        w.unregister(handle)
