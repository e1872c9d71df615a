"""Paths of the build tree the package's tests use (overridable through the environment), the
images they pack, and what they read from /proc."""
import os

import chiprt

BUILD_PYTHON = os.path.dirname(os.path.dirname(os.path.abspath(chiprt.__file__)))
BUILD = os.path.dirname(BUILD_PYTHON)
TEST_SO = os.environ.get("CHIPRT_PY_TEST_SO", os.path.join(BUILD_PYTHON, "test_so"))
EXAMPLES_SO = os.environ.get("CHIPRT_EXAMPLES", os.path.join(BUILD, "examples", "so"))
CLI = os.environ.get("CHIPRT_CLI", os.path.join(BUILD, "tools", "chiprt"))


def vector_image(name="vector"):
    return chiprt.Image.pack(
        orch=os.path.join(EXAMPLES_SO, "orch_vector.so"),
        kernels=[(1, "aiv", os.path.join(EXAMPLES_SO, "kernel_add.so")),
                 (2, "aiv", os.path.join(EXAMPLES_SO, "kernel_add_scalar.so")),
                 (3, "aiv", os.path.join(EXAMPLES_SO, "kernel_mul.so"))],
        name=name)


def copy_image(name="copy"):
    """y = x for any dtype and shape; scalar fault=2 crashes the kernel on the device."""
    return chiprt.Image.pack(orch=os.path.join(TEST_SO, "orch_copy.so"),
                             kernels=[(1, "aiv", os.path.join(TEST_SO, "kernel_copy.so"))],
                             name=name)


def vector_ref(a, b):
    s = a + b
    return (s + 1) * (s + 2) + s


def cpu_seconds(pid):
    """CPU time of every thread of process `pid` (its cores spin there, not in this process)."""
    ticks = 0
    for task in os.listdir(f"/proc/{pid}/task"):
        try:
            fields = open(f"/proc/{pid}/task/{task}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def session_processes(sid):
    """{pid: command name} of the processes of session `sid` still running (a zombie has ended)."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            comm, rest = open(f"/proc/{entry}/stat").read().rsplit(")", 1)
        except OSError:
            continue
        fields = rest.split()
        if int(fields[3]) == sid and fields[0] != "Z":  # state, ppid, pgrp, session
            found[int(entry)] = comm.split("(", 1)[1]
    return found


def checks_image(name="checks"):
    """y = 2 * x for x [R, C] f32, one task per row; scalar case=1: the last row's task (func 2)
    writes 32 floats past the end of y; case=2: the last row is never written."""
    kernel = os.path.join(TEST_SO, "kernel_checks.so")
    return chiprt.Image.pack(orch=os.path.join(TEST_SO, "orch_checks.so"),
                             kernels=[(1, "aiv", kernel), (2, "aiv", kernel)], name=name)
