"""Credentials as the Go CLIs write them (no service needed)."""

import json
import os
import tempfile
import unittest

from funcx_go import NotLoggedIn, errors
from funcx_go._credentials import resolve


class CredentialsTest(unittest.TestCase):
    def setUp(self):
        self.home = tempfile.mkdtemp()
        self.addCleanup(lambda: __import__("shutil").rmtree(self.home))

    def write(self, doc, mode=0o600):
        path = os.path.join(self.home, "credentials.json")
        with open(path, "w") as f:
            json.dump(doc, f)
        os.chmod(path, mode)

    def test_file_then_environment(self):
        self.write({"service_url": "http://saved:1", "client_id": "id", "client_secret": "secret"})
        c = resolve({"FUNCX_HOME": self.home})
        self.assertEqual((c.service_url, c.client_id, c.client_secret), ("http://saved:1", "id", "secret"))
        c = resolve({"FUNCX_HOME": self.home, "FUNCX_SERVICE_URL": "http://env:2",
                     "FUNCX_SDK_CLIENT_ID": "eid", "FUNCX_SDK_CLIENT_SECRET": "esecret"})
        self.assertEqual((c.service_url, c.client_id, c.client_secret), ("http://env:2", "eid", "esecret"))
        self.write({"service_url": "http://saved:1", "token": "tok"})
        self.assertEqual(resolve({"FUNCX_HOME": self.home}).token, "tok")
        # HOME/.funcx when FUNCX_HOME is unset.
        os.makedirs(os.path.join(self.home, ".funcx"))
        os.rename(os.path.join(self.home, "credentials.json"), os.path.join(self.home, ".funcx", "credentials.json"))
        self.assertEqual(resolve({"HOME": self.home}).token, "tok")

    def test_refusals(self):
        with self.assertRaisesRegex(NotLoggedIn, "funcx login"):
            resolve({"FUNCX_HOME": self.home})
        with self.assertRaisesRegex(NotLoggedIn, "set both"):
            resolve({"FUNCX_HOME": self.home, "FUNCX_SDK_CLIENT_ID": "x"})
        with self.assertRaisesRegex(NotLoggedIn, "no service URL"):
            resolve({"FUNCX_HOME": self.home, "FUNCX_SDK_CLIENT_ID": "x", "FUNCX_SDK_CLIENT_SECRET": "y"})
        self.write({"service_url": "http://x", "token": "t"}, mode=0o644)
        with self.assertRaisesRegex(NotLoggedIn, "readable by others: run chmod 600"):
            resolve({"FUNCX_HOME": self.home})


class TaskErrorTest(unittest.TestCase):
    def test_kinds_map_to_exceptions(self):
        for kind in ["RemoteError", "WorkerLost", "ManagerLost", "TaskTimeout", "ResultTooLarge",
                     "FunctionNotFound", "InvalidTask", "Cancelled", "InternalError"]:
            e = errors.task_error({"kind": kind, "message": "m", "stack": "Traceback..."}, "t1")
            self.assertEqual(type(e).__name__, kind)
            self.assertIsInstance(e, errors.TaskError)
            self.assertEqual((e.kind, e.message, e.remote_traceback, e.task_id), (kind, "m", "Traceback...", "t1"))
        e = errors.task_error({"kind": "RemoteError", "message": "ZeroDivisionError: division by zero", "stack": "tb"})
        self.assertEqual(e.remote_type, "ZeroDivisionError")
        self.assertIn("Remote traceback:\ntb", str(e))
        e = errors.task_error({"kind": "SomethingNew", "message": "x"})
        self.assertIs(type(e), errors.TaskError)


if __name__ == "__main__":
    unittest.main()
