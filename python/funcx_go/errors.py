"""Exceptions of the funcx-go SDK.

A task that fails raises a subclass of TaskError named after its kind, the
same kinds as the Go SDK's (funcx.ErrorKind): RemoteError when the function
itself raised (with the remote traceback), TaskTimeout, WorkerLost,
ManagerLost and the rest. Calls the service refuses raise ServiceError;
functions and values that cannot travel raise SerializationError before
anything is sent.
"""


class FuncxError(Exception):
    """Base class of every error of this SDK."""


class NotLoggedIn(FuncxError):
    """No credentials were found (environment or credentials.json)."""


class ServiceError(FuncxError):
    """The service answered with an error: status is the HTTP status, code
    a stable word (bad_request, unauthorized, forbidden, not_found,
    conflict, too_large, unavailable, internal), message is for people."""

    def __init__(self, status, code, message):
        self.status = status
        self.code = code
        self.message = message
        super().__init__("service answered %d %s: %s" % (status, code, message) if message else "service answered %d %s" % (status, code))

    @property
    def temporary(self):
        """Whether trying again later may succeed."""
        return self.status in (429, 502, 503, 504)


class SerializationError(FuncxError, TypeError):
    """A function or a value cannot be sent: the message says why. Nothing
    is ever pickled: functions travel as source and values as JSON."""


class TaskPending(FuncxError):
    """The task has no result yet (Client.get_result)."""

    def __init__(self, task_id, state):
        self.task_id = task_id
        self.state = state
        super().__init__("task %s is %s: it has no result yet" % (task_id, state))


class TaskError(FuncxError):
    """A task failed. kind is the error kind's name, message the remote
    message, remote_traceback the remote stack trace (if any) and task_id
    the task's ID."""

    kind = None

    def __init__(self, message, remote_traceback=None, task_id=None, kind=None):
        if kind is not None:
            self.kind = kind
        self.message = message
        self.remote_traceback = remote_traceback or None
        self.task_id = task_id
        super().__init__(message)

    def __str__(self):
        text = "%s: %s" % (self.kind, self.message) if self.message else str(self.kind)
        if self.remote_traceback:
            text += "\n\nRemote traceback:\n" + self.remote_traceback.rstrip("\n")
        return text


class RemoteError(TaskError):
    """The function raised an exception on the endpoint. remote_type is
    the exception's class name (ZeroDivisionError, ModuleNotFoundError...),
    remote_traceback its traceback there."""

    kind = "RemoteError"

    @property
    def remote_type(self):
        head = (self.message or "").split(":", 1)[0].strip()
        return head if head.replace(".", "").replace("_", "").isalnum() else None


class WorkerLost(TaskError):
    """The worker or interpreter running the task died (crash, OOM kill,
    os._exit); it was replaced."""

    kind = "WorkerLost"


class ManagerLost(TaskError):
    """The manager holding the task stopped heartbeating, and no retries
    were left."""

    kind = "ManagerLost"


class TaskTimeout(TaskError):
    """The function ran past its timeout; its interpreter was killed and
    replaced."""

    kind = "TaskTimeout"


class ResultTooLarge(TaskError):
    """The result was larger than the fabric carries."""

    kind = "ResultTooLarge"


class FunctionNotFound(TaskError):
    """No function of that name exists in the endpoint's worker."""

    kind = "FunctionNotFound"


class InvalidTask(TaskError):
    """The task cannot be run as given: its source does not compile or
    define the function, or its arguments are malformed."""

    kind = "InvalidTask"


class Cancelled(TaskError):
    """The task was abandoned because its endpoint shut down."""

    kind = "Cancelled"


class InternalError(TaskError):
    """A fault of the fabric itself."""

    kind = "InternalError"


_KINDS = {c.kind: c for c in (RemoteError, WorkerLost, ManagerLost, TaskTimeout, ResultTooLarge,
                              FunctionNotFound, InvalidTask, Cancelled, InternalError)}


def task_error(error, task_id=None):
    """The exception of a task result's error object (kind, message, stack)."""
    kind = error.get("kind") or "InternalError"
    cls = _KINDS.get(kind, TaskError)
    return cls(error.get("message", ""), error.get("stack"), task_id, kind=kind)
