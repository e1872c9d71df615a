"""run(..., report=True) from Python: kernel names, dependency edges, the orchestration track,
the summary's critical path against a longest-path search of the report's own trace, and the
Chrome trace text, on both runtimes."""
import json
import os

import numpy as np
import pytest

import chiprt
from helpers import EXAMPLES_SO


def named_vector_image():
    return chiprt.Image.pack(
        orch=os.path.join(EXAMPLES_SO, "orch_vector.so"),
        kernels=[(1, "aiv", os.path.join(EXAMPLES_SO, "kernel_add.so"), "add"),
                 (2, "aiv", os.path.join(EXAMPLES_SO, "kernel_add_scalar.so"), "add1"),
                 (3, "aiv", os.path.join(EXAMPLES_SO, "kernel_mul.so"), "mul")],
        name="vector")


def longest_path(trace, edges):
    """(us, [task ids]) of the heaviest chain, trying every path from every task."""
    by_id = {t["task_id"]: t for t in trace}
    succ = {}
    for e in edges:
        succ.setdefault(e["from"], []).append(e["to"])
    best = (-1.0, [])

    def walk(task, so_far, path):
        nonlocal best
        here = so_far + by_id[task]["end_us"] - by_id[task]["start_us"]
        if here > best[0]:
            best = (here, path + [task])
        for nxt in succ.get(task, []):
            walk(nxt, here, path + [task])

    for t in trace:
        walk(t["task_id"], 0.0, [])
    return best


@pytest.mark.parametrize("runtime", ["tmr", "hbg"])
def test_a_report_shows_the_graph_the_time_and_the_names(runtime):
    a = np.full((8, 256), 2.0, dtype=np.float32)
    b = np.full((8, 256), 3.0, dtype=np.float32)
    with chiprt.ChipWorker(runtime=runtime, device_memory=64 << 20) as w:
        h = w.register(named_vector_image())
        r = w.run(h, a=a, b=b, tile=512, report=True)
        w.unregister(h)
    assert np.all(r.outputs["f"] == 47.0)
    assert len(r.trace) == r.tasks > 1
    assert {s["kernel"] for s in r.trace} == {"add", "add1", "mul"}
    # Every edge joins two traced tasks, and the later one started after the earlier one ended.
    by_id = {t["task_id"]: t for t in r.trace}
    assert r.edges
    for e in r.edges:
        assert e["from"] < e["to"] and e["kinds"] in ("RAW", "WAR", "WAW", "RAW+WAW", "reuse")
        assert by_id[e["to"]]["start_us"] >= by_id[e["from"]]["end_us"]
    us, path = longest_path(r.trace, r.edges)
    cp = r.critical_path
    assert cp == r.summary["critical_path"]
    assert [s["task"] for s in cp["tasks"]] == path
    assert cp["us"] == pytest.approx(us)
    assert r.summary["tasks"] == r.tasks
    assert r.summary["dependencies"]["edges"] == len(r.edges)
    assert sum(r.summary["tasks_per_kernel"].values()) == r.tasks
    what = [s["what"] for s in r.orchestration]
    if runtime == "tmr":
        assert what.count("submit") == r.tasks and what.count("orchestration") == 1
    else:
        assert what == ["record graph (host)", "replay graph"]
    trace = json.loads(r.chrome_trace)["traceEvents"]
    assert sum(1 for e in trace if e["ph"] == "s") == len(r.edges)
    assert sum(1 for e in trace if e["ph"] == "X" and e["cat"] == "task") == r.tasks
