"""How functions and values travel (no service needed)."""

import importlib.util
import os
import tempfile
import unittest

from funcx_go import SerializationError, check_value, function_source
from funcx_go.source import MAX_SOURCE, call_args

from . import helpers


def run_source(source, entry, *args, **kwargs):
    """Runs source as the endpoint's driver does: a fresh namespace."""
    ns = {"__name__": "__funcx__"}
    exec(compile(source, "<test>", "exec"), ns)
    return ns[entry](*args, **kwargs)


class FunctionSourceTest(unittest.TestCase):
    def test_module_function_with_its_globals(self):
        source, entry = function_source(helpers.uses_globals)
        self.assertEqual(entry, "uses_globals")
        self.assertIn("import math as m", source)
        self.assertIn("from posixpath import join", source)
        self.assertIn("import json", source)
        self.assertIn("SCALE = 2", source)
        self.assertIn("def helper(x):", source)
        self.assertEqual(run_source(source, entry, 3.7), helpers.uses_globals(3.7))

    def test_recursion(self):
        source, entry = function_source(helpers.recursive)
        self.assertEqual(source.count("def recursive"), 1)
        self.assertEqual(run_source(source, entry, 5), 120)

    def test_decorators_are_left_out(self):
        source, entry = function_source(helpers.decorated)
        self.assertTrue(source.startswith("def decorated"), source)
        self.assertEqual(run_source(source, entry, 1), 2)

    def test_nested_function_without_free_variables_is_dedented(self):
        def inner(x):
            import math
            return math.sqrt(x)
        source, entry = function_source(inner)
        self.assertTrue(source.startswith("def inner(x):"), source)
        self.assertEqual(run_source(source, entry, 16), 4.0)

    def test_refusals(self):
        cases = [
            (lambda x: x, "is a lambda"),
            (helpers.make_closure(3), "is a closure over k"),
            (helpers.gen, "is a generator function"),
            (helpers.coro, "is an async function"),
            (print, "not a function defined with def"),
            (helpers.uses_unsendable, "uses the global 'LOCK', a object, which cannot travel"),
            (helpers.uses_class, "the class Thing of the same script"),
            (helpers.uses_lambda, "is a lambda"),
        ]
        for fn, want in cases:
            with self.subTest(want=want):
                with self.assertRaises(SerializationError) as cm:
                    function_source(fn)
                self.assertIn(want, str(cm.exception))
                self.assertIsInstance(cm.exception, TypeError)

    def test_too_large(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "funcx_big_module.py")
            with open(path, "w") as f:
                f.write("def big():\n    return %r\n" % ("x" * MAX_SOURCE))
            spec = importlib.util.spec_from_file_location("funcx_big_module", path)
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            with self.assertRaises(SerializationError) as cm:
                function_source(mod.big)
        self.assertIn("more than the 65536 a function may have", str(cm.exception))

    def test_source_not_available(self):
        ns = {}
        exec("def typed_in():\n    return 1\n", ns)
        with self.assertRaises(SerializationError) as cm:
            function_source(ns["typed_in"])
        self.assertIn("write it in a file", str(cm.exception))


class ValueTest(unittest.TestCase):
    def test_json_values_pass(self):
        for v in [None, True, 3, 2.5, "é", [1, [2]], (1, 2), {"a": {"b": [None]}}]:
            check_value(v)
        self.assertEqual(call_args((1, "a"), {"k": [2]}), {"args": [1, "a"], "kwargs": {"k": [2]}})
        self.assertEqual(call_args((), {}), {})

    def test_refused_values_say_why(self):
        class Array:
            def tolist(self):
                return []
        cases = [
            ({1, 2}, "is a set", "pass a list"),
            (b"x", "is a bytes", "base64"),
            (float("nan"), "is nan", "JSON cannot carry"),
            ({1: "a"}, "has the key 1 (a int)", "string keys"),
            ([1, {"x": object()}], "argument 1[1]['x'] is a object", "nothing is pickled"),
            (Array(), "is a Array", ".tolist()"),
        ]
        for v, *wants in cases:
            with self.subTest(v=repr(v)):
                with self.assertRaises(SerializationError) as cm:
                    call_args((v,), {})
                for want in wants:
                    self.assertIn(want, str(cm.exception))
        with self.assertRaises(SerializationError) as cm:
            call_args((), {"when": object()})
        self.assertIn("keyword argument 'when'", str(cm.exception))


if __name__ == "__main__":
    unittest.main()
