"""Ctrl-C on a pytest session whose test hangs in a run (its kernel spins), sent as a terminal
sends it: SIGINT to the session's whole process group, xdist's processes included. The session
ends within 2 s with pytest's interrupted summary and exit status, and leaves no process of its
own behind (device processes, sandboxes, xdist processes)."""
import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from helpers import TEST_SO, cpu_seconds, session_processes

HANGS = textwrap.dedent("""
    import os
    import numpy as np
    import chiprt

    def test_hangs(chip_pool):
        w = chip_pool.worker(%(runtime)r)
        so = %(so)r
        h = w.register(chiprt.Image.pack(
            orch=os.path.join(so, "orch_copy.so"),
            kernels=[(1, "aiv", os.path.join(so, "kernel_copy.so"))], name="hangs"))
        # Tells the session's parent which device process is about to spin.
        ready = os.environ["CHIPRT_TEST_READY"]
        with open(ready + ".part", "w") as f:
            f.write(str(w.device_stats()["process"]["pid"]))
        os.rename(ready + ".part", ready)
        w.run(h, x=np.ones(4, np.float32), fault=5)  # spins until interrupted
""")


def wait_for(condition, session, what, seconds=120):
    give_up = time.monotonic() + seconds
    while not condition():
        assert session.poll() is None, "the session ended before %s" % what
        assert time.monotonic() < give_up, "no %s in %d s" % (what, seconds)
        time.sleep(0.01)


@pytest.mark.parametrize("xdist", [False, True], ids=["plain", "xdist"])
@pytest.mark.parametrize("runtime", ["tmr", "hbg"])
def test_ctrl_c_ends_a_session_hung_in_a_run(tmp_path, runtime, xdist):
    (tmp_path / "pytest.ini").write_text("[pytest]\n")
    (tmp_path / "test_hang.py").write_text(HANGS % {"runtime": runtime, "so": TEST_SO})
    ready = tmp_path / "ready"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_")}
    env["CHIPRT_TEST_READY"] = str(ready)
    args = [sys.executable, "-m", "pytest", "-p", "chiprt.pytest_plugin", "-p", "no:cacheprovider",
            "--chiprt-device-memory", "64M", "--chiprt-stall-timeout", "120"]
    if xdist:
        args += ["-n", "2"]
    output = tmp_path / "output"
    with open(output, "w") as out:
        # A session of its own, as a terminal's job is: its process group is the pytest
        # process's pid, and Ctrl-C reaches every process in it.
        session = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=out,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(ready.exists, session, "test inside its run")
        device = int(ready.read_text())
        before = cpu_seconds(device)
        wait_for(lambda: cpu_seconds(device) - before >= 0.3, session, "spinning kernel")
        sent = time.monotonic()
        os.killpg(session.pid, signal.SIGINT)
        try:
            status = session.wait(timeout=60)
        except subprocess.TimeoutExpired:
            status = None
        took = time.monotonic() - sent
    finally:
        if session.poll() is None:
            os.killpg(session.pid, signal.SIGKILL)
            session.wait()
    text = output.read_text()
    print("%s%s: the session ended %.0f ms after SIGINT" % (
        runtime, " -n 2" if xdist else "", took * 1000))
    assert status is not None, "the session still ran 60 s after SIGINT:\n" + text
    assert took < 2.0, text
    assert status == pytest.ExitCode.INTERRUPTED, text
    assert "!!! KeyboardInterrupt !!!" in text, text
    # Nothing of the session outlives it: device processes die with their host, and xdist's
    # processes with their controller.
    give_up = time.monotonic() + 5
    while session_processes(session.pid) and time.monotonic() < give_up:
        time.sleep(0.02)
    assert session_processes(session.pid) == {}, text
