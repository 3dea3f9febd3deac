"""Client: the service's HTTP API, for Python functions."""

import base64
import uuid

from . import _credentials, _http
from .errors import FuncxError, TaskPending, task_error
from .source import call_args, function_source

MAX_TASKS_PER_SUBMIT = 10000
MAX_WAIT = 60.0


class Client:
    """A client of a funcx-go service.

    Credentials come from the arguments, else $FUNCX_SDK_CLIENT_ID and
    $FUNCX_SDK_CLIENT_SECRET, else $FUNCX_HOME/credentials.json (written by
    `funcx login`; FUNCX_HOME defaults to ~/.funcx); the service URL from
    the argument, else $FUNCX_SERVICE_URL, else that file.

        c = Client()
        fid = c.register_function(integrate)
        tid = c.run("sin", 1000, endpoint_id=EP, function_id=fid)
        c.get_result(tid)  # raises TaskPending until it is done

    Functions travel as source and arguments and results as JSON: nothing
    is pickled (see funcx_go.source).
    """

    def __init__(self, service_url=None, client_id=None, client_secret=None, token=None,
                 request_timeout=30.0, max_retries=4):
        creds = _credentials.resolve(service_url=service_url, client_id=client_id, client_secret=client_secret, token=token)
        self.service_url = creds.service_url
        self._http = _http.Transport(creds.service_url, creds.client_id, creds.client_secret, creds.token,
                                     timeout=request_timeout, max_retries=max_retries)

    def close(self):
        """Closes the client's connections."""
        self._http.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- identity and endpoints --

    def whoami(self):
        """The identity of the credentials: {"id", "name", "client_id"}."""
        return self._http.call("GET", "/v1/whoami", idempotent=True)

    def get_endpoint_status(self, endpoint_id):
        """An endpoint's status: "online" or "offline", its managers,
        workers and outstanding tasks."""
        return self._http.call("GET", "/v1/endpoints/" + endpoint_id, idempotent=True)

    # -- functions --

    def register_function(self, function, name=None, timeout=None, output_limit=None, container_image=None):
        """Registers a Python function and returns its ID. The function
        travels as its source (see funcx_go.source): lambdas, closures and
        globals that cannot be sent raise SerializationError. timeout
        (seconds) kills a run that lasts longer (TaskTimeout);
        output_limit caps its captured print output, in bytes;
        container_image runs it in that container on the endpoint."""
        source, entry = function_source(function)
        return self.register_source(source, entry, name=name or function.__qualname__, timeout=timeout,
                                    output_limit=output_limit, container_image=container_image)

    def register_source(self, source, entry, name=None, timeout=None, output_limit=None, container_image=None):
        """Registers Python source that defines the function entry."""
        req = {"name": name or entry, "kind": "python", "source": source, "entry": entry}
        if timeout:
            req["timeout"] = "%dms" % max(1, round(timeout * 1000))
        if output_limit:
            req["output_limit"] = int(output_limit)
        if container_image:
            req["container_image"] = container_image
        return self._http.call("POST", "/v1/functions", req)["function_id"]

    def get_function(self, function_id):
        """A registered function: its kind, source, entry and options."""
        return self._http.call("GET", "/v1/functions/" + function_id, idempotent=True)

    # -- tasks --

    def run(self, *args, endpoint_id, function_id, **kwargs):
        """Submits one call of a registered function and returns its task ID."""
        return self.submit_batch(endpoint_id, [(function_id, args, kwargs)])[0]

    def submit_batch(self, endpoint_id, calls):
        """Submits many calls at once: calls is a list of (function_id,
        args, kwargs). Returns the task IDs in order. Arguments that JSON
        cannot carry raise SerializationError before anything is sent.
        Task IDs are made here, so that a retried request cannot create a
        task twice."""
        tasks = [{"task_id": str(uuid.uuid4()), "function_id": fid, "args": call_args(args or (), kwargs or {})}
                 for fid, args, kwargs in calls]
        for i in range(0, len(tasks), MAX_TASKS_PER_SUBMIT):
            self._post_tasks(endpoint_id, tasks[i:i + MAX_TASKS_PER_SUBMIT])
        return [t["task_id"] for t in tasks]

    def _post_tasks(self, endpoint_id, tasks):
        resp = self._http.call("POST", "/v1/tasks", {"endpoint_id": endpoint_id, "tasks": tasks}, idempotent=True)
        ids = resp["task_ids"]
        for t, got in zip(tasks, ids):
            if got != t["task_id"]:
                raise FuncxError("the service answered task ID %s for %s" % (got, t["task_id"]))
        return ids

    def get_task(self, task_id):
        """A task's state and, once it is done, its result."""
        return self._http.call("GET", "/v1/tasks/" + task_id, idempotent=True)

    def get_batch_status(self, task_ids):
        """The states of many tasks: {task_id: status}; unknown IDs are absent."""
        out = {}
        for i in range(0, len(task_ids), MAX_TASKS_PER_SUBMIT):
            resp = self._http.call("POST", "/v1/tasks:status", {"task_ids": list(task_ids[i:i + MAX_TASKS_PER_SUBMIT])}, idempotent=True)
            for st in resp.get("tasks") or []:
                out[st["task_id"]] = st
        return out

    def get_result(self, task_id):
        """The value the task's function returned; its error raised as a
        TaskError (RemoteError, TaskTimeout, WorkerLost...); TaskPending
        while it runs."""
        st = self.get_task(task_id)
        if st.get("result") is None:
            raise TaskPending(task_id, st.get("state", "unknown"))
        return result_value(st["result"])

    # -- results --

    def results(self, after=0, wait=0.0, limit=None):
        """One page of the identity's results newer than the cursor after,
        oldest first, and the cursor of the next page: (results, next).
        With wait (seconds, at most 60) it is a long poll: it returns as
        soon as a result exists, or with none after wait."""
        wait = min(max(wait, 0.0), MAX_WAIT)
        query = {"after": str(int(after)), "wait": "%dms" % round(wait * 1000)}
        if limit:
            query["limit"] = str(int(limit))
        page = self._http.call("GET", "/v1/results", query=query, idempotent=True, extra_timeout=wait)
        results = page.get("results") or []
        nxt = max([page.get("next", after)] + [r.get("seq", 0) for r in results])
        return results, nxt

    def results_head(self):
        """The cursor of the newest stored result (0 if none), so that a
        reader starts at now rather than at the identity's first result:
        a doubling search, then a binary one, with one-result pages."""
        def first_newer(after):
            rs, nxt = self.results(after, 0, 1)
            if not rs:
                return None
            if nxt <= after:
                raise FuncxError("find the newest result: the service answered cursor %d for results after %d" % (nxt, after))
            return nxt

        lo = first_newer(0)
        if lo is None:
            return 0
        step = max(lo, 1024)
        while True:
            nxt = first_newer(lo + step)
            if nxt is None:
                hi = lo + step
                break
            lo, step = nxt, step * 2
        while lo < hi:
            mid = lo + (hi - lo) // 2
            nxt = first_newer(mid)
            if nxt is None:
                hi = mid
            else:
                lo = nxt
        return lo


def result_value(r):
    """The value of a task result from the service, or its error raised."""
    if r.get("state") != "success" or r.get("error"):
        raise task_error(r.get("error") or {"kind": "InternalError", "message": "failed without an error"}, r.get("task_id"))
    return r.get("output")


def result_output(r):
    """(stdout, stderr) of a task result, as text."""
    def text(b64):
        return base64.b64decode(b64).decode("utf-8", "replace") if b64 else ""
    return text(r.get("stdout")), text(r.get("stderr"))


