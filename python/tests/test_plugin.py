"""The pytest plugin, run on small sessions through pytester: leak detection, the session's
baseline check, reports, xdist, and a device lost in one test."""
import json
import textwrap

import pytest

from helpers import TEST_SO

PREAMBLE = textwrap.dedent("""
    import os
    import numpy as np
    import pytest
    import chiprt

    def image(name):
        so = %r
        return chiprt.Image.pack(orch=os.path.join(so, "orch_copy.so"),
                                 kernels=[(1, "aiv", os.path.join(so, "kernel_copy.so"))],
                                 name=name)
""" % TEST_SO)


def run(pytester, body, *args):
    pytester.makepyfile(test_session=PREAMBLE + textwrap.dedent(body))
    return pytester.runpytest_subprocess("-p", "chiprt.pytest_plugin", "-p", "no:cacheprovider",
                                         "--chiprt-device-memory", "64M", *args)


def reports(path):
    return [json.loads(p.read_text()) for p in sorted(path.iterdir())]


def test_a_forgotten_unregister_fails_that_test(pytester):
    result = run(pytester, """
        def test_clean(chip_worker):
            h = chip_worker.register(image("clean"))
            assert chip_worker.run(h, x=np.ones(4, np.float32))["y"].sum() == 4
            chip_worker.unregister(h)

        def test_forgets(chip_worker):
            chip_worker.register(image("forgotten"))

        def test_after(chip_pool):
            assert chip_pool.worker("tmr").stats()["registrations_live"] == 0
    """, "--chiprt-report", str(pytester.path / "rep"))
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["*test_forgets*", "*left 1 registration(s) live: tmr 'forgotten' "
                                 "(id *)*"])
    result.stdout.fnmatch_lines(["*chiprt main: 2 registrations, 1 leaked; device 0: *"])
    (rep,) = reports(pytester.path / "rep")
    assert rep["worker"] == "main" and rep["registrations_total"] == 2
    assert rep["leaked_registrations"] == 1
    (dev,) = rep["devices"]
    assert dev["live_bytes_end"] == dev["baseline_bytes"] and dev["callable_bytes_peak"] > 0


def test_leaks_can_be_warnings(pytester):
    result = run(pytester, """
        def test_forgets(chip_pool):
            chip_pool.worker("hbg").register(image("forgotten"))
    """, "--chiprt-leaks", "warn")
    result.assert_outcomes(passed=1, warnings=1)
    # The warning points at the test that leaked, not into the plugin.
    line = (pytester.path / "test_session.py").read_text().splitlines().index(
        "def test_forgets(chip_pool):") + 1
    result.stdout.fnmatch_lines(["*test_session.py:%d: LeakWarning: chiprt: the test left 1 "
                                 "registration(s) live: hbg 'forgotten' (id 0)*" % line])
    assert "pytest_plugin.py" not in result.stdout.str()
    assert result.ret == 0


def test_a_session_that_leaks_device_bytes_fails(pytester):
    result = run(pytester, """
        kept = []

        def test_keeps_a_tensor(chip_worker):
            kept.append(chip_worker.alloc((1024,), "float32"))
    """)
    result.assert_outcomes(passed=1)
    assert result.ret == 1
    result.stdout.fnmatch_lines(["*FAILED main: device 0 holds * bytes at session end, * at its "
                                 "baseline (+4096 bytes)*"])


def test_xdist_processes_report_their_own_devices(pytester):
    result = run(pytester, """
        @pytest.mark.parametrize("i", range(8))
        @pytest.mark.parametrize("runtime", ["tmr", "hbg"])
        def test_many(chip_pool, runtime, i):
            w = chip_pool.worker(runtime)
            h = w.register(image("t%d" % i))
            try:
                x = np.full((2, 3), i, np.int32)
                np.testing.assert_array_equal(w.run(h, x=x)["y"], x)
            finally:
                w.unregister(h)
    """, "-n", "2", "--chiprt-devices", "2", "--chiprt-report", str(pytester.path / "rep"))
    result.assert_outcomes(passed=16)
    assert result.ret == 0
    reps = reports(pytester.path / "rep")
    assert sorted(r["worker"] for r in reps) == ["gw0", "gw1"]
    assert sum(r["registrations_total"] for r in reps) == 16
    assert sorted(d["device"] for r in reps for d in r["devices"]) == [0, 1]
    assert all(d["live_bytes_end"] == d["baseline_bytes"] for r in reps for d in r["devices"])
    result.stdout.fnmatch_lines(["*chiprt gw0: * registrations, 0 leaked; device 0: *",
                                 "*chiprt gw1: * registrations, 0 leaked; device 1: *"])


def test_a_lost_device_is_reset_for_the_next_test(pytester):
    result = run(pytester, """
        def test_crashes(chip_worker):
            h = chip_worker.register(image("crash"))
            with pytest.raises(chiprt.DeviceLost):
                chip_worker.run(h, x=np.ones(4, np.float32), fault=2)

        def test_next_works(chip_worker):
            h = chip_worker.register(image("next"))
            assert chip_worker.run(h, x=np.ones(4, np.float32))["y"].sum() == 4
            chip_worker.unregister(h)
    """, "--chiprt-report", str(pytester.path / "rep"))
    result.assert_outcomes(passed=2)
    (rep,) = reports(pytester.path / "rep")
    (dev,) = rep["devices"]
    assert [r["test"].split("::")[-1] for r in dev["resets"]] == ["test_crashes"]
    assert "device_lost" in dev["resets"][0]["cause"]
    assert dev["live_bytes_end"] == dev["baseline_bytes"]
    result.stdout.fnmatch_lines(["*1 reset(s)*"])


def test_a_session_over_processes_given_by_tx(pytester):
    """--tx starts the processes (here 3, with Debian's interpreter), --dist loadgroup keeps a
    group in one process; each process reports its own device label."""
    result = run(pytester, """
        import os
        seen = []

        @pytest.mark.parametrize("i", range(6))
        def test_spread(chip_worker, i):
            h = chip_worker.register(image("s%d" % i))
            try:
                x = np.full(8, i, np.float32)
                np.testing.assert_array_equal(chip_worker.run(h, x=x)["y"], x)
            finally:
                chip_worker.unregister(h)

        @pytest.mark.xdist_group("shared")
        def test_group_first(chip_pool):
            seen.append(os.getpid())

        @pytest.mark.xdist_group("shared")
        def test_group_second(chip_pool):
            assert seen == [os.getpid()]  # ran in the same process as the first
    """, "--tx", "3*popen//python=/usr/bin/python3", "--dist", "loadgroup",
                 "--chiprt-devices", "2", "--chiprt-report", str(pytester.path / "rep"))
    result.assert_outcomes(passed=8)
    assert result.ret == 0
    reps = reports(pytester.path / "rep")
    assert sorted(r["worker"] for r in reps) == ["gw0", "gw1", "gw2"]
    labels = {r["worker"]: [d["device"] for d in r["devices"]] for r in reps}
    assert all(labels[w] in ([], [int(w[2:]) % 2]) for w in labels)
    result.stdout.fnmatch_lines(["*chiprt gw0: *", "*chiprt gw1: *", "*chiprt gw2: *"])
    assert "chiprt main:" not in result.stdout.str()  # the controller is not a process of its own
