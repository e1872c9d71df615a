"""pytest plugin for kernel test sessions on chiprt.

Load it with ``-p chiprt.pytest_plugin`` (installed, it is found through its pytest11 entry point).
Every pytest process (each pytest-xdist worker ``gwK``) gets one long-lived WorkerPool with a
worker per runtime on its device (device label K mod --chiprt-devices), through the session
fixtures ``chip_pool`` and ``chip_worker``.

Around every test the plugin checks that the registrations the test made through the session's
workers are gone: a leaked one fails the test naming it as ``tmr 'name' (id N)`` (or warns,
with ``--chiprt-leaks=warn``, a LeakWarning at the test's line) and is unregistered. A test that loses the device (DeviceLost,
DeadlineExceeded) has it reset before the next test. At session end the device's live bytes must
equal their baseline (measured when the pool was created), or the session fails with the
figures. ``--chiprt-check=all`` (or a list: ``memcheck,initcheck``) checks every run of the
session's workers: a test whose run fails a check fails with chiprt.CheckFailed, its check report
in a "chiprt checks" section. ``--chiprt-report DIR`` writes one JSON per process; the terminal
summary prints one line per process.
"""
import argparse
import gc
import json
import os
import re
import sys
import warnings

import pytest

import chiprt

class LeakWarning(UserWarning):
    """A test left registrations live (``--chiprt-leaks=warn``); shown at the test's own line."""


def _named(h):
    """A registration as errors name a callable: runtime, image name and id."""
    return "%s %r (id %d)" % (h.runtime, h.name, h.id)


_SIZE = re.compile(r"^\s*(\d+)\s*([kKmMgG]?)i?[bB]?\s*$")


def _size(text):
    m = _SIZE.match(str(text))
    if not m:
        raise ValueError("not a size: %r (an integer, optionally with K, M or G)" % text)
    return int(m.group(1)) << {"": 0, "k": 10, "m": 20, "g": 30}[m.group(2).lower()]


_CHECKS = ("memcheck", "racecheck", "initcheck")


def _checks(text):
    if text in ("all", "none") or all(name in _CHECKS for name in text.split(",")):
        return text
    raise argparse.ArgumentTypeError("not a list of checks: %r (all, or any of %s)"
                                     % (text, ",".join(_CHECKS)))


def pytest_addoption(parser):
    group = parser.getgroup("chiprt", "chiprt device sessions")
    group.addoption("--chiprt-runtime", default="tmr", choices=("tmr", "hbg"),
                    help="runtime of the chip_worker fixture (default tmr)")
    group.addoption("--chiprt-profile", default="a2a3", help="chip profile (a2a3, a5)")
    group.addoption("--chiprt-devices", type=int, default=1, metavar="N",
                    help="device labels: xdist process gwK takes device K mod N (default 1)")
    group.addoption("--chiprt-device-memory", type=_size, default=1 << 30, metavar="BYTES",
                    help="device memory per chip, e.g. 1G (default 1 GiB)")
    group.addoption("--chiprt-report", default=None, metavar="DIR",
                    help="write one JSON report per pytest process into DIR")
    group.addoption("--chiprt-leaks", default="fail", choices=("fail", "warn"),
                    help="a test that leaves registrations live fails (default) or warns")
    group.addoption("--chiprt-stall-timeout", type=float, default=30.0, metavar="SECONDS",
                    help="a run in which no task completes or starts for this long fails with "
                         "DeadlineExceeded and the device is reset (default 30)")
    group.addoption("--chiprt-check", type=_checks, default=None, metavar="LIST",
                    help="check every run of the session's workers: all, or any of "
                         "memcheck,racecheck,initcheck (a finding fails the test with "
                         "chiprt.CheckFailed)")


def _process_name(config):
    workerinput = getattr(config, "workerinput", None)
    if workerinput is not None:
        return workerinput["workerid"]
    return "main"  # not an xdist worker (PYTEST_XDIST_WORKER may be inherited: not ours)


class SessionPool:
    """This process's pool: one chip, a worker per runtime. ``worker(runtime)`` gives this
    process's worker of that runtime (the default runtime without an argument)."""

    runtimes = ("tmr", "hbg")

    def __init__(self, config):
        opt = config.option
        name = _process_name(config)
        index = int(name[2:]) if re.fullmatch(r"gw\d+", name) else 0
        self.device = index % max(1, opt.chiprt_devices)
        self.default_runtime = opt.chiprt_runtime
        self.pool = chiprt.WorkerPool(devices=1, profile=opt.chiprt_profile,
                                      device_memory=opt.chiprt_device_memory,
                                      runtimes=self.runtimes,
                                      stall_timeout=opt.chiprt_stall_timeout,
                                      checks=opt.chiprt_check)
        self.baseline_bytes = self.live_bytes()

    def worker(self, runtime=None, device=None):
        if device is not None and device != self.device:
            raise ValueError("this process has device %d, not %d" % (self.device, device))
        return self.pool.worker(runtime or self.default_runtime, 0)

    def workers(self):
        return [self.pool.worker(r, 0) for r in self.runtimes]

    def device_stats(self):
        stats = self.worker().device_stats()
        stats["device"] = self.device
        return stats

    def live_bytes(self):
        return self.device_stats()["live_bytes"]

    def live_handles(self):
        return {h for w in self.workers() for h in w.live_handles()}

    def stats(self):
        return self.pool.stats()

    def __repr__(self):
        return "SessionPool(device=%d, runtime=%r)" % (self.device, self.default_runtime)


class _Session:
    def __init__(self, config):
        self.config = config
        self.name = _process_name(config)
        self.pool = None
        self.leaked = 0
        self.resets = []
        self.report = None
        self.reports = {}  # controller: process name -> report
        self.problems = []

    def get_pool(self):
        if self.pool is None:
            self.pool = SessionPool(self.config)
        return self.pool

    # -- around every test
    def after_test(self, item, before):
        pool = self.pool
        if pool is None:
            return None
        for worker in pool.workers():
            cause = worker.health()
            if cause is not None:
                worker.reset()
                self.resets.append({"test": item.nodeid, "cause": cause})
                break
        leaked = sorted(pool.live_handles() - before, key=lambda h: (h.runtime, h.id))
        if not leaked:
            return None
        self.leaked += len(leaked)
        listing = ", ".join(_named(h) for h in leaked)
        for h in leaked:
            try:
                pool.worker(h.runtime).unregister(h)
            except chiprt.ChiprtError:
                pass
        return "chiprt: the test left %d registration(s) live: %s" % (len(leaked), listing)

    # -- session end (after every fixture's teardown)
    def finish(self, session):
        # A failed test's traceback (kept for post-mortem debugging) holds its frames and with
        # them its device tensors: let them go before the device is measured.
        for name in ("last_type", "last_value", "last_traceback"):
            if hasattr(sys, name):
                delattr(sys, name)
        gc.collect()
        pool = self.pool
        report = {"worker": self.name, "registrations_total": 0, "leaked_registrations": 0,
                  "devices": []}
        if pool is not None:
            left = pool.live_handles()
            self.leaked += len(left)
            # The workers keep their runs' intermediate heaps for later runs: let them go first,
            # so that the end is measured against the baseline (taken before any run).
            for w in pool.workers():
                w.release_idle_memory()
            device = pool.device_stats()
            report["registrations_total"] = sum(w.stats()["registrations_total"]
                                                for w in pool.workers())
            report["devices"].append({
                "device": pool.device,
                "baseline_bytes": pool.baseline_bytes,
                "live_bytes_end": device["live_bytes"],
                "callable_bytes_peak": device["tags"]["callable"]["peak_bytes"],
                "tensor_bytes_end": device["tags"]["tensor"]["live_bytes"],
                "resets": self.resets,
            })
            if left:
                self.problems.append("%s: %d registration(s) still live at session end: %s" % (
                    self.name, len(left), ", ".join(_named(h) for h in sorted(left, key=lambda h: h.id))))
            pool.pool.finalize()
            self.pool = None
        report["leaked_registrations"] = self.leaked
        self.report = report
        self.problems.extend(_baseline_problems(report))
        directory = self.config.option.chiprt_report
        if directory:
            os.makedirs(directory, exist_ok=True)
            with open(os.path.join(directory, "chiprt-%s.json" % self.name), "w") as f:
                json.dump(report, f, indent=2)
        if hasattr(self.config, "workeroutput"):
            self.config.workeroutput["chiprt"] = report
        else:
            self.reports[self.name] = report
        if self.problems and session.exitstatus == 0:
            session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _baseline_problems(report):
    return ["%s: device %d holds %d bytes at session end, %d at its baseline (%+d bytes)" % (
        report["worker"], d["device"], d["live_bytes_end"], d["baseline_bytes"],
        d["live_bytes_end"] - d["baseline_bytes"])
        for d in report["devices"] if d["live_bytes_end"] != d["baseline_bytes"]]


def _summary_line(report):
    devices = "; ".join(
        "device %d: %d bytes live at end (baseline %d), callable peak %d bytes%s" % (
            d["device"], d["live_bytes_end"], d["baseline_bytes"], d["callable_bytes_peak"],
            ", %d reset(s)" % len(d["resets"]) if d.get("resets") else "")
        for d in report["devices"]) or "no device used"
    return "chiprt %s: %d registrations, %d leaked; %s" % (
        report["worker"], report["registrations_total"], report["leaked_registrations"], devices)


def pytest_configure(config):
    config.pluginmanager.register(_Session(config), "chiprt-session")


def _state(config):
    return config.pluginmanager.get_plugin("chiprt-session")


@pytest.fixture(scope="session")
def chip_pool(request):
    """This process's SessionPool (one chip, one worker per runtime)."""
    return _state(request.config).get_pool()


@pytest.fixture(scope="session")
def chip_worker(chip_pool):
    """The worker of the default runtime (--chiprt-runtime) on this process's device."""
    return chip_pool.worker()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_call(item):
    state = _state(item.config)
    before = state.pool.live_handles() if state.pool is not None else set()
    yield
    message = state.after_test(item, before)
    if message is None:
        return
    if item.config.option.chiprt_leaks == "warn":
        _warn_at_test(item, message)
    else:
        item._chiprt_leak = message


def _warn_at_test(item, message):
    """Warns as if from the test's definition, so the summary points at the test, not here."""
    path, line, _ = item.location
    code = getattr(getattr(item, "function", None), "__code__", None)
    filename = code.co_filename if code is not None else str(item.config.rootpath / path)
    lineno = code.co_firstlineno if code is not None else (line or 0) + 1
    module = getattr(getattr(item, "module", None), "__name__", "chiprt")
    warnings.warn_explicit(message, LeakWarning, filename, lineno, module=module)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if call.excinfo is not None and call.excinfo.errisinstance(chiprt.CheckFailed):
        checks = call.excinfo.value.report
        if checks is not None:
            report.sections.append(("chiprt checks", json.dumps(checks, indent=2)))
    message = getattr(item, "_chiprt_leak", None)
    if call.when != "call" or message is None:
        return
    if report.passed:
        report.outcome = "failed"
        report.longrepr = message
    else:
        report.sections.append(("chiprt", message))


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session, exitstatus):
    state = _state(session.config)
    if hasattr(session.config, "workeroutput") or not _is_controller(session.config):
        state.finish(session)
        return
    # xdist controller: every process has reported through pytest_testnodedown.
    for report in state.reports.values():
        state.problems.extend(_baseline_problems(report))
    if state.problems and session.exitstatus == 0:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def _is_controller(config):
    # xdist's controller runs a DSession, whether the processes came from -n or from --tx.
    return config.pluginmanager.hasplugin("dsession")


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    report = getattr(node, "workeroutput", {}).get("chiprt")
    if report is not None:
        _state(node.config).reports[report["worker"]] = report


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    state = _state(config)
    if not state.reports:
        return
    terminalreporter.section("chiprt")
    for name in sorted(state.reports):
        terminalreporter.write_line(_summary_line(state.reports[name]))
    for problem in state.problems:
        terminalreporter.write_line("FAILED " + problem, red=True)
