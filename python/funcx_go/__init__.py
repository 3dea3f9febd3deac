"""funcx_go: run Python functions on funcx-go endpoints.

    from funcx_go import Executor

    def integrate(f_name, n):
        import math
        f = getattr(math, f_name)
        return sum(f(i / n) for i in range(n)) / n

    with Executor(endpoint_id=EP) as ex:
        print(ex.submit(integrate, "sin", 1000).result())  # 0.45...

Functions travel as their source and arguments and results as JSON;
nothing is pickled. Standard library only. See docs/python.md.
"""

from .client import Client
from .errors import (
    Cancelled,
    FuncxError,
    FunctionNotFound,
    InternalError,
    InvalidTask,
    ManagerLost,
    NotLoggedIn,
    RemoteError,
    ResultTooLarge,
    SerializationError,
    ServiceError,
    TaskError,
    TaskPending,
    TaskTimeout,
    WorkerLost,
)
from .executor import Executor, TaskFuture
from .source import check_value, function_source

__version__ = "0.1.0"

__all__ = [
    "Client", "Executor", "TaskFuture", "function_source", "check_value",
    "FuncxError", "NotLoggedIn", "ServiceError", "SerializationError", "TaskPending", "TaskError",
    "RemoteError", "WorkerLost", "ManagerLost", "TaskTimeout", "ResultTooLarge", "FunctionNotFound",
    "InvalidTask", "Cancelled", "InternalError",
]
