"""chiprt: chip callables on simulated AI accelerators.

    image = chiprt.Image.pack(orch="orch.so", kernels=[(1, "aiv", "kernel.so")], name="demo")
    with chiprt.ChipWorker(runtime="tmr") as worker:
        handle = worker.register(image)
        out = worker.run(handle, a=numpy_array, b=device_tensor, tile=512.0)
        worker.unregister(handle)

``worker.run(handle, ..., report=True)`` returns a chiprt.RunReport instead of the outputs: its
``outputs``, ``tasks``, ``elapsed_us``, ``orchestration_calls``, ``graph_cache_hit``, peaks, the
run's ``trace`` (one dict per task) and, for a checked run, its ``checks`` report.

Workers are thread-safe and release the GIL while they register, run and unregister. Errors are
chiprt.ChiprtError (with .code, the status name) or one of its subclasses; a tensor argument of a
wrong dtype or layout is a TypeError naming the argument.

Checks find what the chip would get wrong silently: ``ChipWorker(..., checks="all")`` (or
"memcheck,racecheck,initcheck", any subset; ``check_seeds``: racecheck's schedules,
``check_seed``: replay one) checks every run, ``run(..., checks=...)`` one run. A finding raises
chiprt.CheckFailed (code "check_failed"): its message names the first finding (check, task,
tensor, range); ``.findings`` lists them all as dicts, ``.report`` is the whole check report.
A checked run that passes returns exactly the outputs of its unchecked run.
"""
from ._chiprt import (
    Callable,
    CheckFailed,
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
    RunReport,
    WorkerPool,
)

__all__ = [
    "Callable",
    "CheckFailed",
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
    "RunReport",
    "WorkerPool",
]
