"""Ctrl-C while a run waits on a kernel that spins: KeyboardInterrupt within a second (the wait
checks signals every 100 ms), the run cancelled (the device lost, as a missed deadline loses
it), then the same worker runs exactly after reset(). Also the deadlines a ChipWorker takes."""
import os
import signal
import threading
import time

import numpy as np
import pytest

import chiprt
from helpers import copy_image, cpu_seconds


@pytest.mark.parametrize("runtime", ["tmr", "hbg"])
def test_ctrl_c_interrupts_a_spinning_run_and_the_worker_runs_after_reset(runtime):
    with chiprt.ChipWorker(runtime=runtime, device_memory=64 << 20, run_timeout=120,
                           stall_timeout=120) as w:
        handle = w.register(copy_image())
        x = np.arange(16, dtype=np.float32)
        pid = w.device_stats()["process"]["pid"]
        assert pid > 0
        sent = []

        def interrupt_once_it_spins():
            # Waits for the event (the device process burning CPU: the kernel spins), then sends
            # SIGINT to this process, as Ctrl-C does.
            before = cpu_seconds(pid)
            give_up = time.monotonic() + 30
            while cpu_seconds(pid) - before < 0.3 and time.monotonic() < give_up:
                pass
            sent.append(time.monotonic())
            os.kill(os.getpid(), signal.SIGINT)

        thread = threading.Thread(target=interrupt_once_it_spins, daemon=True)
        thread.start()
        with pytest.raises(KeyboardInterrupt):
            w.run(handle, x=x, fault=5)
        took = time.monotonic() - sent[0]
        thread.join()
        print(f"{runtime}: KeyboardInterrupt {took * 1000:.0f} ms after SIGINT")
        assert took < 1.0
        assert "cancelled" in w.health()
        with pytest.raises(chiprt.DeviceLost):
            w.run(handle, x=x)
        w.reset()
        handle = w.register(copy_image())
        np.testing.assert_array_equal(w.run(handle, x=x)["y"], x)
        w.unregister(handle)


def test_a_worker_takes_its_deadlines_in_seconds():
    with chiprt.ChipWorker(runtime="tmr", device_memory=64 << 20, stall_timeout=0.5) as w:
        handle = w.register(copy_image())
        x = np.arange(16, dtype=np.float32)
        with pytest.raises(chiprt.DeadlineExceeded) as e:
            w.run(handle, x=x, fault=5)
        assert "stall deadline of 0.5 s" in str(e.value)
        w.reset()
    for bad in (0, -1.0, float("nan")):
        with pytest.raises(ValueError, match="stall_timeout"):
            chiprt.ChipWorker(stall_timeout=bad)
    with pytest.raises(ValueError, match="run_timeout"):
        chiprt.ChipWorker(run_timeout=0)
