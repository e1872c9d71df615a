"""Numpy arguments and device tensors: every supported dtype round-trips exactly, bad arrays are
clear errors, device tensors stay on the device (and are faster for it), bytes come back."""
import time

import numpy as np
import pytest

import chiprt
from helpers import copy_image, vector_image, vector_ref

DTYPES = [np.float32, np.float16, np.int32, np.int64, np.uint8]


@pytest.fixture
def copy(any_worker):
    handle = any_worker.register(copy_image())
    yield handle
    any_worker.unregister(handle)


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_every_dtype_round_trips(any_worker, copy, dtype):
    rng = np.random.default_rng(7)
    x = rng.integers(0, 250, size=(3, 5, 7)).astype(dtype)
    y = any_worker.run(copy, x=x)["y"]
    assert y.dtype == np.dtype(dtype) and y.shape == x.shape
    np.testing.assert_array_equal(y, x)
    t = any_worker.to_device(x)
    assert t.dtype == np.dtype(dtype) and t.shape == x.shape and t.nbytes == x.nbytes
    np.testing.assert_array_equal(t.numpy(), x)
    out = any_worker.alloc(x.shape, dtype)
    assert any_worker.run(copy, x=t, out={"y": out}) == {}
    np.testing.assert_array_equal(out.numpy(), x)


def test_bad_arrays_raise_clear_errors(worker):
    handle = worker.register(copy_image())
    try:
        with pytest.raises(TypeError, match="argument 'x'.*C-contiguous"):
            worker.run(handle, x=np.zeros((8, 8), np.float32)[:, ::2])
        with pytest.raises(TypeError, match="argument 'x'.*C-contiguous"):
            worker.run(handle, x=np.asfortranarray(np.zeros((4, 8), np.float32)))
        for bad in (np.float64, np.bool_, np.complex64, np.int16):
            with pytest.raises(TypeError, match="argument 'x'.*dtype"):
                worker.run(handle, x=np.zeros(4, bad))
        with pytest.raises(TypeError, match="argument 'x'.*dtype"):
            worker.run(handle, x=np.zeros(4, ">f4"))
        with pytest.raises(ValueError, match="argument 'x'.*0-d"):
            worker.run(handle, x=np.array(1.0, np.float32))
        with pytest.raises(ValueError, match="argument 'x'.*empty"):
            worker.run(handle, x=np.zeros((0, 4), np.float32))
        with pytest.raises(ValueError, match="argument 'x'.*dims"):
            worker.run(handle, x=np.zeros((1,) * 5, np.float32))
        with pytest.raises(TypeError, match="argument 'x'.*list"):
            worker.run(handle, x=[1.0, 2.0])
        with pytest.raises(TypeError, match="argument 'array'"):
            worker.to_device(np.zeros((4, 4), np.float64))
        with pytest.raises(TypeError, match="dtype"):
            worker.alloc((4,), np.float64)
        with pytest.raises(chiprt.InvalidArgument):
            worker.alloc((4, 0), np.float32)
    finally:
        worker.unregister(handle)


def test_wrong_output_tensor_and_freed_tensors(worker):
    handle = worker.register(vector_image())
    a = worker.to_device(np.ones((8, 16), np.float32))
    try:
        for wrong in (worker.alloc((16, 8), np.float32), worker.alloc((8, 16), np.int32)):
            with pytest.raises(chiprt.InvalidArgument, match="output 'f'"):
                worker.run(handle, a=a, b=a.numpy(), out={"f": wrong})
        with pytest.raises(TypeError, match="out"):
            worker.run(handle, a=a, b=a.numpy(), out={"f": np.zeros((8, 16), np.float32)})
        f = worker.alloc((8, 16), np.float32)
        f.free()
        assert f.freed
        with pytest.raises(ValueError, match="freed"):
            worker.run(handle, a=a, b=a.numpy(), out={"f": f})
        with pytest.raises(chiprt.ChiprtError):
            f.numpy()
    finally:
        worker.unregister(handle)


def test_device_bytes_return_to_baseline(any_worker):
    base = any_worker.device_stats()
    tensors = [any_worker.alloc((n, 100), np.float32) for n in range(1, 20)]
    tensors.append(any_worker.to_device(np.ones((64, 64), np.uint8)))
    tensors[0].copy_from(np.full((1, 100), 3.0, np.float32))
    np.testing.assert_array_equal(tensors[0].numpy(), np.full((1, 100), 3.0, np.float32))
    assert any_worker.device_stats()["tags"]["tensor"]["live_allocations"] == (
        base["tags"]["tensor"]["live_allocations"] + 20)
    del tensors
    after = any_worker.device_stats()
    assert after["live_bytes"] == base["live_bytes"]
    assert after["tags"]["tensor"]["live_allocations"] == base["tags"]["tensor"]["live_allocations"]


@pytest.mark.parametrize("runtime", ["tmr", "hbg"])
def test_device_resident_runs_are_exact_and_report_their_speed(chip_pool, runtime, record_property,
                                                                capsys):
    # The speed is reported (record_property and the terminal), never asserted: a timed assertion
    # in a test measures the machine's load, not chiprt.
    worker = chip_pool.worker(runtime)
    handle = worker.register(vector_image("speed"))
    try:
        rng = np.random.default_rng(3)
        a = rng.standard_normal((128, 1024), dtype=np.float32)
        b = rng.standard_normal((128, 1024), dtype=np.float32)
        da, db = worker.to_device(a), worker.to_device(b)
        f = worker.alloc((128, 1024), np.float32)

        def per_run(fn, runs=100):
            start = time.perf_counter()
            for _ in range(runs):
                fn()
            return (time.perf_counter() - start) / runs * 1e6

        def host():
            return worker.run(handle, a=a, b=b)

        def device():
            return worker.run(handle, a=da, b=db, out={"f": f})

        host(), device()  # warm (hbg records its graph here)
        # Rounds of 100 runs, alternating; the best round of each (the machine may be shared).
        rounds = [(per_run(host), per_run(device)) for _ in range(3)]
        host_us = min(r[0] for r in rounds)
        device_us = min(r[1] for r in rounds)
        np.testing.assert_array_equal(f.numpy(), vector_ref(a, b))
        record_property("host_us_per_run", host_us)
        record_property("device_us_per_run", device_us)
        with capsys.disabled():
            print("\n%s vector 128x1024: numpy in/out %.0f us per run, device-resident %.0f us "
                  "(%.1fx)" % (runtime, host_us, device_us, host_us / device_us))
    finally:
        worker.unregister(handle)
