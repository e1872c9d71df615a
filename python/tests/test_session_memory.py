"""A 500-test pytest session leaves nothing behind as it goes: every test registers a callable
through the plugin's worker, runs it once and unregisters it, and each pytest process running
tests (the session's own, or each xdist process) ends with its resident memory, and its device
process's, within 8 MB of where they were after its first 50 tests. Under xdist every process runs
the whole session (--dist each), so that each of them is a 500-test session's worker."""
import json
import textwrap

import pytest

from helpers import TEST_SO

TESTS = 500
WARM = 50
SLACK = 8 << 20

ROLLING = textwrap.dedent("""
    import json
    import os

    import numpy as np
    import pytest

    import chiprt

    SO = %(so)r
    done = []


    def resident_bytes():
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
        raise AssertionError("no VmRSS")


    def record(worker, when):
        entry = {"when": when, "tests": len(done), "pid": os.getpid(),
                 "host": resident_bytes(),
                 "device": worker.device_stats()["process"]["resident_bytes"]}
        with open(os.path.join(%(out)r, "%%d.jsonl" %% os.getpid()), "a") as f:
            f.write(json.dumps(entry) + "\\n")


    @pytest.fixture(scope="session", autouse=True)
    def at_the_end(chip_worker):
        yield
        record(chip_worker, "end")


    @pytest.mark.parametrize("i", range(%(tests)d))
    def test_rolling(chip_worker, i):
        # A new image every other test, the same one in between: loads and reuses both.
        name = "r%%d" %% i if i %% 2 else "same"
        h = chip_worker.register(chiprt.Image.pack(
            orch=os.path.join(SO, "orch_copy.so"),
            kernels=[(1, "aiv", os.path.join(SO, "kernel_copy.so"))], name=name))
        x = np.arange(i, i + 64, dtype=np.float32).reshape(8, 8)
        np.testing.assert_array_equal(chip_worker.run(h, x=x)["y"], x)
        chip_worker.unregister(h)
        done.append(i)
        if len(done) == %(warm)d:
            record(chip_worker, "warm")
""")


@pytest.mark.parametrize("xdist", [False, True], ids=["plain", "xdist"])
def test_resident_memory_stays_flat_over_a_500_test_session(pytester, xdist):
    out = pytester.path / "rss"
    out.mkdir()
    pytester.makepyfile(test_rolling=ROLLING % {"so": TEST_SO, "out": str(out), "tests": TESTS,
                                                "warm": WARM})
    args = ["-p", "chiprt.pytest_plugin", "-p", "no:cacheprovider", "-q",
            "--chiprt-device-memory", "64M"]
    if xdist:
        args += ["-n", "2", "--dist", "each"]
    result = pytester.runpytest_subprocess(*args)
    passed = TESTS * (2 if xdist else 1)
    assert result.ret == 0 and result.parseoutcomes() == {"passed": passed}, \
        "\n".join(result.outlines[-60:] + result.errlines[-20:])
    processes = {}
    for path in out.iterdir():
        entries = [json.loads(line) for line in path.read_text().splitlines()]
        processes[path.name] = {e["when"]: e for e in entries}
    assert len(processes) == (2 if xdist else 1), processes
    for name, seen in processes.items():
        warm, end = seen["warm"], seen["end"]
        assert end["tests"] == TESTS
        print("%s (%d tests): host %.1f -> %.1f MiB, device process %.1f -> %.1f MiB" % (
            "xdist process" if xdist else "session process", end["tests"], warm["host"] / 2**20,
            end["host"] / 2**20, warm["device"] / 2**20, end["device"] / 2**20))
        assert warm["host"] > 0 and warm["device"] > 0
        assert abs(end["host"] - warm["host"]) <= SLACK, seen
        assert abs(end["device"] - warm["device"]) <= SLACK, seen
