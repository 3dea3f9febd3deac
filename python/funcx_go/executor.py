"""Executor: a concurrent.futures.Executor that runs Python functions on a
funcx-go endpoint."""

import concurrent.futures
import threading
import uuid

from .client import Client, result_output, result_value
from .errors import FuncxError, ServiceError, TaskError
from .source import call_args
from . import _http


class TaskFuture(concurrent.futures.Future):
    """A Future of a task: task_id is its ID; once it is done, stdout and
    stderr hold what the function printed (up to its output limit)."""

    def __init__(self, task_id):
        super().__init__()
        self.task_id = task_id
        self.stdout = ""
        self.stderr = ""


class Executor(concurrent.futures.Executor):
    """Runs functions on an endpoint, as concurrent.futures does in
    threads:

        with Executor(endpoint_id=EP) as ex:
            fut = ex.submit(integrate, "sin", 1000)
            print(fut.result())
            print(list(ex.map(integrate, ["sin", "cos"], [10, 10])))

    A function is registered at its first submission (as its source; see
    funcx_go.source) and its ID reused. Submissions are sent in batches by
    one thread: at once when none is in flight, else together with those
    made meanwhile (up to batch_size per request). One thread long-polls
    the results and resolves the futures. A failed task raises its
    TaskError from result(): RemoteError with the remote traceback,
    TaskTimeout, WorkerLost, ManagerLost...

    client is the Client to use; by default one is made from the
    environment (and closed at shutdown) with client_kwargs. timeout,
    output_limit and container_image apply to every function registered.
    """

    def __init__(self, endpoint_id, client=None, timeout=None, output_limit=None, container_image=None,
                 batch_size=1000, poll_wait=20.0, **client_kwargs):
        if not endpoint_id:
            raise ValueError("endpoint_id is required")
        self.endpoint_id = endpoint_id
        self._own_client = client is None
        self._client = client if client is not None else Client(**client_kwargs)
        self._options = {"timeout": timeout, "output_limit": output_limit, "container_image": container_image}
        self._batch_size = max(1, min(int(batch_size), 10000))
        self._poll_wait = poll_wait

        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._queue = []  # (future, task) not sent yet
        self._pending = {}  # task ID -> future, until its result
        self._shutdown = False
        self._after = None  # the results cursor, fixed before the first post
        self._submitter = None
        self._poller = None
        self._ended = set()  # "submit", "poll": the threads that ended

        self._functions = {}  # function -> function ID
        self._register_lock = threading.Lock()

    # -- submitting --

    def submit(self, fn, /, *args, **kwargs):
        """Submits fn(*args, **kwargs) and returns its TaskFuture. A function
        or argument that cannot travel raises SerializationError here."""
        if self._shutdown:
            raise RuntimeError("cannot schedule new futures after shutdown")
        fid = self._function_id(fn)
        call = call_args(args, kwargs)
        fut = TaskFuture(str(uuid.uuid4()))
        task = {"task_id": fut.task_id, "function_id": fid, "args": call}
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot schedule new futures after shutdown")
            self._pending[fut.task_id] = fut
            self._queue.append((fut, task))
            if self._submitter is None:
                self._submitter = threading.Thread(target=self._submit_loop, name="funcx-submit", daemon=True)
                self._submitter.start()
            self._wake.notify_all()
        return fut

    def register_function(self, fn):
        """Registers fn (once) and returns its function ID."""
        return self._function_id(fn)

    def _function_id(self, fn):
        fid = self._functions.get(fn)
        if fid is not None:
            return fid
        with self._register_lock:
            fid = self._functions.get(fn)
            if fid is None:
                fid = self._client.register_function(fn, **self._options)
                self._functions[fn] = fid
            return fid

    def _submit_loop(self):
        while True:
            with self._lock:
                while not self._queue and not self._shutdown:
                    self._wake.wait()
                if not self._queue:
                    self._thread_ended("submit")
                    return
                batch = self._queue[:self._batch_size]
                del self._queue[:len(batch)]
            live = []
            for fut, task in batch:
                if fut.set_running_or_notify_cancel():
                    live.append((fut, task))
                else:
                    with self._lock:
                        self._pending.pop(fut.task_id, None)
            if live:
                self._post(live)

    def _post(self, live):
        try:
            self._start_poller()
            self._client._post_tasks(self.endpoint_id, [task for _, task in live])
        except Exception as e:  # the futures carry it
            with self._lock:
                for fut, _ in live:
                    self._pending.pop(fut.task_id, None)
            for fut, _ in live:
                fut.set_exception(e)

    def _start_poller(self):
        if self._poller is not None:
            return
        # The cursor is fixed before the first task is posted, so that no
        # result can come before it.
        self._after = self._client.results_head()
        with self._lock:
            self._poller = threading.Thread(target=self._poll_loop, name="funcx-results", daemon=True)
            self._poller.start()

    # -- results --

    def _poll_loop(self):
        failures = 0
        limit = None
        while True:
            with self._lock:
                while not self._pending and not self._shutdown:
                    self._wake.wait()
                if not self._pending:
                    self._thread_ended("poll")
                    return
            try:
                results, self._after = self._client.results(self._after, self._poll_wait, limit)
            except ServiceError as e:
                if e.status == 413 and limit != 1:  # big outputs: fewer per page
                    limit = max((limit or 2000) // 2, 1)
                    continue
                if not e.temporary:  # refused for good: the futures would hang
                    self._fail_all(e)
                    continue
                failures = self._pause(failures)
                continue
            except FuncxError as e:
                failures = self._pause(failures)
                continue
            failures = 0
            for r in results:
                with self._lock:
                    fut = self._pending.pop(r.get("task_id"), None)
                if fut is not None:
                    _resolve(fut, r)

    def _pause(self, failures):
        threading.Event().wait(_http.backoff(failures))
        return failures + 1

    def _fail_all(self, err):
        with self._lock:
            futs = list(self._pending.values())
            self._pending.clear()
            self._wake.notify_all()
        for f in futs:
            if not f.done():
                f.set_exception(err)

    # -- shutting down --

    def shutdown(self, wait=True, *, cancel_futures=False):
        """Stops taking submissions. Queued ones are still sent (unless
        cancel_futures), and with wait, returns once every future is done."""
        with self._lock:
            self._shutdown = True
            if cancel_futures:
                for fut, _ in self._queue:
                    if fut.cancel():
                        self._pending.pop(fut.task_id, None)
                self._queue = [(f, t) for f, t in self._queue if not f.cancelled()]
            self._wake.notify_all()
            threads = [t for t in (self._submitter, self._poller) if t is not None]
            idle = not threads
        if idle:
            if self._own_client:
                self._client.close()
            return
        if wait:
            if self._submitter is not None:
                self._submitter.join()
            with self._lock:
                futs = list(self._pending.values())
            concurrent.futures.wait(futs)
            if self._poller is not None:
                self._poller.join()

    def _thread_ended(self, which):
        """Called with the lock held by a thread that ends: the last one
        closes the executor's own client. (No poller starts once the
        submitter has ended: the submitter starts it.)"""
        self._ended.add(which)
        if "submit" in self._ended and (self._poller is None or "poll" in self._ended) and self._own_client:
            self._client.close()


def _resolve(fut, r):
    fut.stdout, fut.stderr = result_output(r)
    try:
        value = result_value(r)
    except TaskError as e:
        fut.set_exception(e)
    else:
        fut.set_result(value)
