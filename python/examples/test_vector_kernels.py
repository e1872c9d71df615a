"""A kernel developer's test session: each test packs its callable, registers it on the
session's long-lived worker, runs it with numpy arrays, compares with a numpy reference and
unregisters it. Run with the chiprt pytest plugin:

    PYTHONPATH=build/python CHIPRT_EXAMPLES=build/examples/so \\
        python3 -m pytest -p chiprt.pytest_plugin python/examples [-n 2]
"""
import os

import numpy as np
import pytest

import chiprt

SO = os.environ.get("CHIPRT_EXAMPLES", "build/examples/so")


def vector_image(name):
    """f = (a + b + 1) * (a + b + 2) + (a + b), in tiles of `tile` elements."""
    return chiprt.Image.pack(
        orch=os.path.join(SO, "orch_vector.so"),
        kernels=[(1, "aiv", os.path.join(SO, "kernel_add.so")),
                 (2, "aiv", os.path.join(SO, "kernel_add_scalar.so")),
                 (3, "aiv", os.path.join(SO, "kernel_mul.so"))],
        name=name)


def reference(a, b):
    s = a + b
    return (s + 1) * (s + 2) + s


@pytest.fixture
def vector(chip_worker):
    handle = chip_worker.register(vector_image("vector"))
    yield handle
    chip_worker.unregister(handle)


@pytest.mark.parametrize("shape", [(1024,), (16, 256), (3, 1000), (2, 4, 8, 16)])
def test_vector_matches_numpy(chip_worker, vector, shape):
    rng = np.random.default_rng(sum(shape))
    a = rng.standard_normal(shape, dtype=np.float32)
    b = rng.standard_normal(shape, dtype=np.float32)
    out = chip_worker.run(vector, a=a, b=b, tile=256.0)
    np.testing.assert_array_equal(out["f"], reference(a, b))


@pytest.mark.parametrize("runtime", ["tmr", "hbg"])
def test_both_runtimes_agree(chip_pool, runtime):
    worker = chip_pool.worker(runtime)
    handle = worker.register(vector_image("vector-" + runtime))
    try:
        a = np.linspace(-1, 1, 4096, dtype=np.float32).reshape(64, 64)
        out = worker.run(handle, a=a, b=a[::-1].copy())
        np.testing.assert_array_equal(out["f"], reference(a, a[::-1]))
    finally:
        worker.unregister(handle)


def test_device_resident_inputs_and_output(chip_worker, vector):
    a = chip_worker.to_device(np.full((128, 1024), 1.5, dtype=np.float32))
    b = chip_worker.to_device(np.full((128, 1024), 0.5, dtype=np.float32))
    f = chip_worker.alloc((128, 1024), np.float32)
    for _ in range(3):
        assert chip_worker.run(vector, a=a, b=b, out={"f": f}) == {}
    np.testing.assert_array_equal(f.numpy(), np.full((128, 1024), 14.0, dtype=np.float32))


def test_wrong_dtype_is_reported(chip_worker, vector):
    a = np.ones((8, 8), dtype=np.float64)
    with pytest.raises(TypeError, match="'a'"):
        chip_worker.run(vector, a=a, b=a)
