"""Many Python threads on one worker: the GIL is released during register, run and unregister."""
import threading

import numpy as np
import pytest

from helpers import copy_image, vector_image, vector_ref


@pytest.mark.parametrize("runtime", ["tmr", "hbg"])
def test_eight_threads_two_thousand_operations(chip_pool, runtime):
    worker = chip_pool.worker(runtime)
    worker.release_idle_memory()  # intermediate heaps kept from earlier runs
    base = worker.device_stats()["live_bytes"]
    images = [vector_image("thread-%d" % i) for i in range(4)] + [copy_image("thread-copy")]
    ops_per_thread = 2000 // 8 // 3  # register + run + unregister per cycle
    errors, results = [], []

    def body(seed):
        rng = np.random.default_rng(seed)
        try:
            for i in range(ops_per_thread + 1):
                image = images[(seed + i) % len(images)]
                handle = worker.register(image)
                if image.name == "thread-copy":
                    x = rng.integers(0, 100, size=(4, 64)).astype(np.int64)
                    ok = np.array_equal(worker.run(handle, x=x)["y"], x)
                else:
                    a = rng.standard_normal((4, 256), dtype=np.float32)
                    b = rng.standard_normal((4, 256), dtype=np.float32)
                    ok = np.array_equal(worker.run(handle, a=a, b=b, tile=128)["f"],
                                        vector_ref(a, b))
                worker.unregister(handle)
                results.append(ok)
        except Exception as e:  # reported below, with the thread's seed
            errors.append((seed, e))

    threads = [threading.Thread(target=body, args=(s,)) for s in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert len(results) * 3 >= 2000 and all(results)
    worker.release_idle_memory()  # the heaps this test's runs left for later runs
    assert worker.device_stats()["live_bytes"] == base
    assert worker.stats()["registrations_live"] == 0
