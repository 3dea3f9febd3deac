"""The SDK against a real service, RabbitMQ and endpoint.

go test ./python starts them and runs these tests with the environment
they need: FUNCX_SERVICE_URL, FUNCX_SDK_CLIENT_ID, FUNCX_SDK_CLIENT_SECRET
and FUNCX_TEST_ENDPOINT_ID (an endpoint with two workers and no retries).
"""

import concurrent.futures
import os
import unittest

from funcx_go import (Client, Executor, ManagerLost, RemoteError, SerializationError, TaskPending, TaskTimeout,
                      WorkerLost)

from . import helpers

ENDPOINT = os.environ.get("FUNCX_TEST_ENDPOINT_ID", "")


def setUpModule():
    if not ENDPOINT:
        raise RuntimeError("FUNCX_TEST_ENDPOINT_ID is not set: run these tests with `go test ./python`, "
                           "which starts the service, RabbitMQ's link and an endpoint for them")


# The issue's example, word for word.
def integrate(f_name, n):
    import math
    f = getattr(math, f_name)
    return sum(f(i / n) for i in range(n)) / n


def divide(a, b):
    print("dividing", a, "by", b)
    return a / b


def nap(seconds):
    import time
    time.sleep(seconds)
    return seconds


def crash():
    import os
    os._exit(3)


def needs_numpy():
    import numpy_funcx_absent  # noqa: F401


def echo(*args, **kwargs):
    return {"args": list(args), "kwargs": kwargs}


def kill_my_manager():
    """Kills the manager running this task: the interpreter's parent is
    the worker, the worker's parent the manager."""
    import os
    import signal
    worker = os.getppid()
    with open("/proc/%d/stat" % worker) as f:
        manager = int(f.read().rsplit(")", 1)[1].split()[1])
    os.kill(manager, signal.SIGKILL)
    import time
    time.sleep(60)


class ExecutorTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ex = Executor(endpoint_id=ENDPOINT)

    @classmethod
    def tearDownClass(cls):
        cls.ex.shutdown()

    def test_issue_example(self):
        fut = self.ex.submit(integrate, "sin", 1000)
        v = fut.result(timeout=120)
        self.assertTrue(0.45 < v < 0.46, v)
        self.assertEqual([round(v, 6) for v in self.ex.map(integrate, ["sin", "cos"], [10, 10], timeout=120)],
                         [round(integrate("sin", 10), 6), round(integrate("cos", 10), 6)])

    def test_values_and_print(self):
        fut = self.ex.submit(echo, 1, "two", [3.5, None], k={"x": True})
        self.assertEqual(fut.result(timeout=120), {"args": [1, "two", [3.5, None]], "kwargs": {"k": {"x": True}}})
        fut = self.ex.submit(divide, 1, 4)
        self.assertEqual(fut.result(timeout=120), 0.25)
        self.assertEqual(fut.stdout, "dividing 1 by 4\n")
        self.assertTrue(fut.task_id)

    def test_module_globals_travel(self):
        self.assertEqual(self.ex.submit(helpers.uses_globals, 3.7).result(timeout=120), helpers.uses_globals(3.7))

    def test_many(self):
        futs = [self.ex.submit(echo, i) for i in range(300)]
        done, not_done = concurrent.futures.wait(futs, timeout=120)
        self.assertFalse(not_done)
        self.assertEqual([f.result()["args"][0] for f in futs], list(range(300)))

    def test_remote_error_with_traceback(self):
        fut = self.ex.submit(divide, 1, 0)
        with self.assertRaises(RemoteError) as cm:
            fut.result(timeout=120)
        e = cm.exception
        self.assertEqual(e.remote_type, "ZeroDivisionError")
        self.assertEqual(e.message, "ZeroDivisionError: division by zero")
        self.assertIn("return a / b", e.remote_traceback)
        self.assertIn("Remote traceback:", str(e))
        self.assertEqual(fut.stdout, "dividing 1 by 0\n")

    def test_missing_module_is_named(self):
        with self.assertRaises(RemoteError) as cm:
            self.ex.submit(needs_numpy).result(timeout=120)
        self.assertEqual(cm.exception.remote_type, "ModuleNotFoundError")
        self.assertIn("numpy_funcx_absent", cm.exception.message)
        self.assertIn("python_command", cm.exception.message)

    def test_timeout(self):
        with Executor(endpoint_id=ENDPOINT, timeout=0.5) as ex:
            with self.assertRaises(TaskTimeout):
                ex.submit(nap, 30).result(timeout=120)
            self.assertEqual(ex.submit(nap, 0).result(timeout=120), 0)  # a new interpreter serves on

    def test_crash_is_worker_lost(self):
        with self.assertRaises(WorkerLost) as cm:
            self.ex.submit(crash).result(timeout=120)
        self.assertIn("exited with status 3", cm.exception.message)
        self.assertEqual(self.ex.submit(integrate, "sin", 10).result(timeout=120), integrate("sin", 10))

    def test_refusals_at_submit(self):
        k = 3

        def closure(x):
            return x + k
        for fn, args, want in [
            (lambda x: x, (1,), "is a lambda"),
            (closure, (1,), "is a closure over k"),
            (echo, ({1, 2},), "argument 1 is a set"),
            (echo, (object(),), "nothing is pickled"),
            (echo, ({1: 2},), "string keys"),
        ]:
            with self.subTest(want=want):
                with self.assertRaises(SerializationError) as cm:
                    self.ex.submit(fn, *args)
                self.assertIn(want, str(cm.exception))

    def test_cancel_before_sending(self):
        ex = Executor(endpoint_id=ENDPOINT)
        ex.shutdown(cancel_futures=True)
        with self.assertRaises(RuntimeError):
            ex.submit(echo, 1)


class ClientTest(unittest.TestCase):
    def test_register_run_and_results(self):
        with Client() as c:
            self.assertTrue(c.whoami()["id"])
            self.assertEqual(c.get_endpoint_status(ENDPOINT)["status"], "online")
            fid = c.register_function(integrate)
            f = c.get_function(fid)
            self.assertEqual((f["kind"], f["entry"]), ("python", "integrate"))
            head = c.results_head()
            ids = c.submit_batch(ENDPOINT, [(fid, ("sin", 1000), None), (fid, ("cos",), {"n": 10})])
            got = {}
            after = head
            while len(got) < 2:
                results, after = c.results(after, wait=30)
                for r in results:
                    got[r["task_id"]] = r
            self.assertTrue(0.45 < got[ids[0]]["output"] < 0.46)
            self.assertEqual(c.get_result(ids[1]), integrate("cos", 10))
            self.assertEqual(set(c.get_batch_status(ids)), set(ids))
            tid = c.run(5, endpoint_id=ENDPOINT, function_id=c.register_function(nap))
            with self.assertRaises(TaskPending):
                c.get_result(tid)


class ManagerLostTest(unittest.TestCase):
    """Runs last (unittest loads a module's test classes by name): it
    kills the endpoint's manager, which the endpoint then replaces."""

    def test_zz_manager_lost(self):
        with Executor(endpoint_id=ENDPOINT) as ex:
            with self.assertRaises(ManagerLost):
                ex.submit(kill_my_manager).result(timeout=180)
            # The endpoint starts another block and serves on.
            self.assertEqual(ex.submit(echo, "after").result(timeout=180), {"args": ["after"], "kwargs": {}})


if __name__ == "__main__":
    unittest.main()
