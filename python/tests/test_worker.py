"""Workers and pools: register, run, unregister, stats, finalize, errors as exceptions."""
import json
import os
import subprocess

import numpy as np
import pytest

import chiprt
from helpers import CLI, EXAMPLES_SO, copy_image, vector_image, vector_ref


def test_register_run_unregister(any_worker):
    handle = any_worker.register(vector_image("basic"))
    assert handle.name == "basic" and handle.runtime == any_worker.runtime
    assert int(handle) == handle.id and "basic" in repr(handle)
    try:
        a = np.arange(2048, dtype=np.float32).reshape(2, 1024) / 7
        b = np.ones_like(a)
        out = any_worker.run(handle, a=a, b=b, tile=300)
        assert set(out) == {"f"} and out["f"].dtype == np.float32 and out["f"].shape == (2, 1024)
        np.testing.assert_array_equal(out["f"], vector_ref(a, b))
    finally:
        any_worker.unregister(handle)


def test_register_takes_bytes_like_objects(worker):
    data = bytes(copy_image("bytes-like"))
    for obj in (data, bytearray(data), memoryview(data)):
        handle = worker.register(obj)
        assert handle.name == "bytes-like"
        worker.unregister(handle)
    with pytest.raises(TypeError, match="image"):
        worker.register(12)


def test_stats_is_the_cli_worker_entry(worker):
    cli = json.loads(subprocess.run([CLI, "stats", "--json"], check=True, capture_output=True,
                                    text=True).stdout)
    before = worker.stats()
    assert set(before) == set(cli["at_end"]["devices"][0]["workers"][0])
    h1 = worker.register(copy_image("s"))
    h2 = worker.register(copy_image("s"))  # the same image: one buffer, refcount 2
    stats = worker.stats()
    assert stats["registrations_live"] == before["registrations_live"] + 2
    assert stats["registrations_total"] == before["registrations_total"] + 2
    assert stats["refcount_histogram"].get("2") == 1
    worker.unregister(h1)
    worker.unregister(h2)
    assert worker.stats()["registrations_live"] == before["registrations_live"]
    device = worker.device_stats()
    assert set(device) == {"device", "live_bytes", "peak_bytes", "tags", "replay_cache",
                           "code_cache", "process"}
    assert set(device["tags"]) == {"callable", "tensor", "runtime", "other"}
    assert set(device["replay_cache"]) == {"entries", "bytes", "peak_bytes", "evictions", "drops"}
    assert set(device["code_cache"]) == {"entries", "bytes", "hits", "misses", "evictions"}
    # The device process of this worker's chip, its resident memory read from /proc.
    process = device["process"]
    assert process["pid"] > 0 and os.path.exists("/proc/%d" % process["pid"])
    assert 0 < process["resident_bytes"] <= process["peak_resident_bytes"]


def test_stale_and_unknown_handles_are_not_found(worker):
    handle = worker.register(copy_image())
    worker.unregister(handle)
    with pytest.raises(chiprt.NotFound) as e:
        worker.unregister(handle)
    assert e.value.code == "not_found"
    with pytest.raises(chiprt.NotFound):
        worker.run(handle, x=np.zeros(4, np.float32))
    with pytest.raises(TypeError, match="handle"):
        worker.unregister("0")


def test_a_missing_argument_is_a_chiprt_error(worker):
    handle = worker.register(vector_image())
    try:
        with pytest.raises(chiprt.ChiprtError, match="orchestration"):
            worker.run(handle, a=np.zeros(4, np.float32))
    finally:
        worker.unregister(handle)


def test_out_of_device_memory():
    with chiprt.ChipWorker(device_memory=1 << 20) as w:
        with pytest.raises(chiprt.OutOfDeviceMemory) as e:
            w.alloc((1 << 20,), "float32")
        assert e.value.code == "out_of_device_memory"
        t = w.alloc((1024,), "float32")
        assert w.device_stats()["tags"]["tensor"]["live_bytes"] >= 4096
        del t
        assert w.device_stats()["tags"]["tensor"]["live_bytes"] == 0


def test_finalize_and_context_manager():
    with chiprt.ChipWorker(runtime="hbg", device_memory=64 << 20) as w:
        assert w.runtime == "hbg"
        w.register(copy_image("left-live"))
    assert w.stats()["leaked_registrations"] == 1
    with pytest.raises(chiprt.ChiprtError) as e:
        w.register(copy_image())
    assert e.value.code == "failed_precondition"
    w.finalize()  # idempotent


def test_pool_workers_and_stats():
    with chiprt.WorkerPool(devices=2, device_memory=64 << 20) as pool:
        assert pool.device_count == 2
        w = pool.worker("hbg", device=1)
        assert w.runtime == "hbg" and w.device == 1 and pool.worker("hbg", 1) is w
        handle = w.register(copy_image())
        x = np.arange(10, dtype=np.int32)
        np.testing.assert_array_equal(w.run(handle, x=x)["y"], x)
        stats = pool.stats()
        assert stats["registrations_live"] == 1 and len(stats["devices"]) == 2
        w.unregister(handle)
        with pytest.raises(chiprt.NotFound):
            pool.worker("tmr", device=2)
    with pytest.raises(chiprt.InvalidArgument):
        chiprt.WorkerPool(runtimes=("tmr", "xyz"))


def test_a_numpy_scalar_where_a_tensor_is_taken_says_so(any_worker):
    # Signed image: refused before the run, naming the argument and what it was given as.
    signed = any_worker.register(chiprt.Image.pack(
        orch=_example("orch_vector.so"), kernels=_vector_kernels(), name="signed-vector",
        signature="a:f32[*],b:f32[*],tile?:scalar -> f:f32[*]"))
    unsigned = any_worker.register(copy_image("unsigned-copy"))
    try:
        with pytest.raises(chiprt.InvalidArgument) as e:
            any_worker.run(signed, a=np.float32(2), b=np.ones(4, np.float32))
        assert str(e.value) == (
            "invalid_argument: running callable 'signed-vector' (id %d): tensor argument 'a' "
            "(a:f32[*]) of the callable's signature was given as a scalar; a tensor argument is "
            "an array of at least one dimension" % signed.id)
        # Unsigned image: the orchestration's failed lookup says it.
        with pytest.raises(chiprt.ChiprtError) as e:
            any_worker.run(unsigned, x=np.float32(2))
        assert ("running callable 'unsigned-copy' (id %d)" % unsigned.id) in str(e.value)
        assert "no tensor argument 'x' (it was given as a scalar;" in str(e.value)
    finally:
        any_worker.unregister(signed)
        any_worker.unregister(unsigned)


def test_pool_repr_says_what_it_was_made_with():
    with chiprt.WorkerPool(devices=2, device_memory=64 << 20, runtimes=("hbg",)) as pool:
        assert repr(pool) == ("chiprt.WorkerPool(devices=2, profile='a2a3', "
                              "device_memory=67108864, runtimes=('hbg',))")


def _example(name):
    return os.path.join(EXAMPLES_SO, name)


def _vector_kernels():
    return [(1, "aiv", _example("kernel_add.so")), (2, "aiv", _example("kernel_add_scalar.so")),
            (3, "aiv", _example("kernel_mul.so"))]


def test_orchestration_log_lines_go_to_stderr(any_worker, capfd):
    handle = any_worker.register(vector_image("logs"))  # unsigned: its orchestration checks
    try:
        with pytest.raises(chiprt.ChiprtError, match="orchestration entry returned 2"):
            any_worker.run(handle, a=np.ones(4, np.float32), b=np.ones(5, np.float32))
    finally:
        any_worker.unregister(handle)
    out, err = capfd.readouterr()
    assert "a and b must be float32 tensors of the same shape" in err
    assert "[callable 'logs'" in err and "[callable" not in out
