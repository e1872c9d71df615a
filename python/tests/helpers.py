"""Paths of the build tree the package's tests use (overridable through the environment) and
the images they pack."""
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
