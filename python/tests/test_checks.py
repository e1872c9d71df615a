"""Checks from Python: ChipWorker(checks=...), run(checks=...), chiprt.CheckFailed and its
findings, on both runtimes, and the plugin's --chiprt-check."""
import textwrap

import numpy as np
import pytest

import chiprt
from helpers import TEST_SO, checks_image

X = (np.arange(8 * 32, dtype=np.float32) / 7).reshape(8, 32)


@pytest.fixture(scope="module", params=["tmr", "hbg"])
def chips(request):
    """(worker, handle) of the checks image on an unchecked worker and on a checked one
    (checks="all", check_seeds=4) of one runtime, each owning its chip (an overrun may damage
    what a chip holds)."""
    with chiprt.ChipWorker(runtime=request.param, device_memory=64 << 20) as plain, \
            chiprt.ChipWorker(runtime=request.param, device_memory=64 << 20, checks="all",
                              check_seeds=4) as checked:
        pairs = [(w, w.register(checks_image())) for w in (plain, checked)]
        yield pairs
        for w, h in pairs:
            w.unregister(h)


def run(pair, **kwargs):
    worker, handle = pair
    return worker.run(handle, x=X, **kwargs)


def failure(pair, **kwargs):
    with pytest.raises(chiprt.CheckFailed) as caught:
        run(pair, **kwargs)
    e = caught.value
    assert isinstance(e, chiprt.ChiprtError) and e.code == "check_failed"
    assert e.findings and e.report["findings"] == e.findings
    return e


def test_a_clean_checked_run_returns_the_unchecked_outputs(chips):
    plain, checked = chips
    want = run(plain, case=0)["y"]
    assert np.array_equal(want, 2 * X)
    for got in (run(checked, case=0)["y"], run(plain, case=0, checks="all")["y"]):
        assert got.dtype == want.dtype and got.tobytes() == want.tobytes()
    # The same worker and keyword do check: an unwritten row fails them.
    failure(checked, case=2)
    failure(plain, case=2, checks="all")


def test_an_overrun_fails_memcheck_naming_the_task_and_tensor(chips):
    plain, checked = chips
    for e in (failure(checked, case=1), failure(plain, case=1, checks="memcheck")):
        f = e.findings[0]
        assert (f["check"], f["func_id"], f["tensor"]) == ("memcheck", 2, "y"), f
        assert f["core_type"] == "aiv" and f["unit"] == "bytes"
        assert "memcheck: task %d (func_id 2, aiv core" % f["task_id"] in str(e)
        assert "past the end of output 'y'" in str(e)


def test_a_never_written_row_fails_initcheck(chips):
    plain, checked = chips
    for e in (failure(checked, case=2), failure(plain, case=2, checks=["initcheck"])):
        f = e.findings[0]
        assert (f["check"], f["tensor"]) == ("initcheck", "y"), f
        assert (f["unit"], f["begin"], f["end"]) == ("elements", 7 * 32, 8 * 32), f
        assert "initcheck" in str(e)
    # A run's checks replace the worker's.
    run(checked, case=2, checks="none")


def test_check_seeds_and_check_seed_set_the_schedules(chips):
    plain, checked = chips
    eight = failure(plain, case=2, checks="all").report  # the worker's seeds: the default 8
    four = failure(checked, case=2).report
    assert eight["enabled"] == four["enabled"] == "memcheck,racecheck,initcheck"
    assert eight["schedules"] - four["schedules"] == 4
    with chiprt.ChipWorker(runtime=plain[0].runtime, device_memory=64 << 20, checks="all",
                           check_seed=3) as w:
        h = w.register(checks_image())
        try:
            one = failure((w, h), case=2).report
        finally:
            w.unregister(h)
    assert one["schedules"] < four["schedules"]


def test_unknown_checks_are_refused():
    with pytest.raises(ValueError, match="unknown check 'memchek'"):
        chiprt.ChipWorker(checks="memchek")
    with pytest.raises(ValueError, match="check_seeds"):
        chiprt.WorkerPool(checks="all", check_seeds=1)


def test_the_plugin_checks_every_session_worker(pytester):
    pytester.makepyfile(test_session=textwrap.dedent("""
        import os
        import numpy as np
        import chiprt

        X = np.ones((8, 32), np.float32)

        def run(worker, case):
            so = %r
            kernel = os.path.join(so, "kernel_checks.so")
            h = worker.register(chiprt.Image.pack(
                orch=os.path.join(so, "orch_checks.so"),
                kernels=[(1, "aiv", kernel), (2, "aiv", kernel)], name="checks"))
            try:
                return worker.run(h, x=X, case=case)["y"]
            finally:
                worker.unregister(h)

        def test_clean_tmr(chip_pool):
            assert (run(chip_pool.worker("tmr"), 0) == 2).all()

        def test_overrun(chip_pool):
            run(chip_pool.worker("hbg"), 1)

        def test_clean_hbg(chip_pool):
            assert (run(chip_pool.worker("hbg"), 0) == 2).all()
    """ % TEST_SO))
    result = pytester.runpytest_subprocess("-p", "chiprt.pytest_plugin", "-p", "no:cacheprovider",
                                           "--chiprt-device-memory", "64M", "--chiprt-check=all")
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(["E * chiprt.CheckFailed: *memcheck: task * (func_id 2, *",
                                 "*chiprt checks*",
                                 '*"check": "memcheck"*', "FAILED *test_overrun*"])
    assert "FAILED test_session.py::test_clean" not in result.stdout.str()


def test_the_plugin_refuses_unknown_checks(pytester):
    pytester.makepyfile(test_session="def test_nothing():\n    pass\n")
    result = pytester.runpytest_subprocess("-p", "chiprt.pytest_plugin", "-p", "no:cacheprovider",
                                           "--chiprt-check=memchek")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--chiprt-check: not a list of checks: 'memchek'*"])


def test_a_run_report_carries_the_outputs_the_trace_and_the_checks(chips):
    """run(..., report=True): the outputs, the measured figures and one trace slice per task,
    against what the checks image does (8 row tasks of func 1 on an aiv core)."""
    plain, _ = chips
    r = run(plain, case=0, report=True)
    assert isinstance(r, chiprt.RunReport)
    assert np.array_equal(r.outputs["y"], 2 * X)
    assert r.tasks == 8 and r.elapsed_us > 0
    assert sorted(s["task_id"] for s in r.trace) == list(range(8))
    assert {(s["func_id"], s["core_type"]) for s in r.trace} == {(1, "aiv")}
    assert all(0 <= s["start_us"] <= s["end_us"] for s in r.trace)
    assert r.checks is None
    checked = run(plain, case=0, report=True, checks="all")
    assert checked.checks["findings"] == [] and checked.checks["schedules"] == 9
    assert checked.outputs["y"].tobytes() == r.outputs["y"].tobytes()
    # Without report=True, run returns the outputs alone.
    assert set(run(plain, case=0)) == {"y"}
