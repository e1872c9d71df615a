"""chiprt: chip callables on simulated AI accelerators.

    image = chiprt.Image.pack(orch="orch.so", kernels=[(1, "aiv", "kernel.so")], name="demo")
    with chiprt.ChipWorker(runtime="tmr") as worker:
        handle = worker.register(image)
        out = worker.run(handle, a=numpy_array, b=device_tensor, tile=512.0)
        worker.unregister(handle)

Workers are thread-safe and release the GIL while they register, run and unregister. Errors are
chiprt.ChiprtError (with .code, the status name) or one of its subclasses; a tensor argument of a
wrong dtype or layout is a TypeError naming the argument.
"""
from ._chiprt import (
    Callable,
    ChiprtError,
    ChipWorker,
    Cancelled,
    DeadlineExceeded,
    DeviceLost,
    DeviceTensor,
    Image,
    InvalidArgument,
    InvalidImage,
    NotFound,
    OutOfDeviceMemory,
    WorkerPool,
)

__all__ = [
    "Callable",
    "ChiprtError",
    "ChipWorker",
    "Cancelled",
    "DeadlineExceeded",
    "DeviceLost",
    "DeviceTensor",
    "Image",
    "InvalidArgument",
    "InvalidImage",
    "NotFound",
    "OutOfDeviceMemory",
    "WorkerPool",
]
