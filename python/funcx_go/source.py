"""How a Python function travels: as source, never pickled.

function_source(fn) returns the source and entry name of a plain function
(inspect.getsource, dedented, decorators left out), preceded by what it
needs from its module: the modules it uses (import lines), the functions
of its own module it calls (their source, the same way), functions and
classes of other modules (from-imports) and constants that are JSON
literals. Whatever cannot travel this way is refused with a
SerializationError saying why: lambdas, closures, generator and async
functions, and globals of other kinds.

check_value(value) refuses arguments JSON cannot carry.
"""

import ast
import dis
import inspect
import json
import math
import sys
import textwrap
import types

from .errors import SerializationError

# MAX_SOURCE is the most bytes of source a function may have, the
# service's limit (funcx.MaxPythonSource).
MAX_SOURCE = 64 << 10

_ALLOWED = "None, booleans, numbers, strings, lists (or tuples, which arrive as lists) and dicts with string keys"


def function_source(fn):
    """Returns (source, entry) for fn, or raises SerializationError."""
    fn = inspect.unwrap(fn)  # a functools.wraps decorator's original: decorators are not applied remotely
    _check_function(fn, "the function")
    entry = fn.__name__
    parts = _Collector(fn.__module__)
    parts.add_function(fn, entry)
    source = parts.source()
    if len(source.encode("utf-8")) > MAX_SOURCE:
        raise SerializationError(
            "%s: its source (with what it needs from its module) is %d bytes, more than the %d a function may have: "
            "move the bulk into a module installed on the endpoint and import it" % (entry, len(source.encode("utf-8")), MAX_SOURCE))
    return source, entry


def _check_function(fn, what):
    if isinstance(fn, (staticmethod, classmethod)):
        fn = fn.__func__
    if not inspect.isfunction(fn):
        raise SerializationError(
            "%s %r is a %s, not a function defined with def: only plain functions travel (as their source)" % (what, fn, type(fn).__name__))
    name = fn.__qualname__
    if fn.__name__ == "<lambda>":
        raise SerializationError(
            "%s %s is a lambda: its source is part of a larger expression, which cannot be sent on its own; "
            "define it with def" % (what, name))
    if fn.__closure__:
        free = ", ".join(fn.__code__.co_freevars)
        raise SerializationError(
            "%s %s is a closure over %s: the values of its enclosing function's variables would not travel with its source; "
            "define it at module level and pass them as arguments" % (what, name, free))
    if inspect.iscoroutinefunction(fn) or inspect.isasyncgenfunction(fn):
        raise SerializationError(
            "%s %s is an async function, which the endpoint does not await: make it a plain function that calls asyncio.run" % (what, name))
    if what == "the function" and inspect.isgeneratorfunction(fn):
        raise SerializationError(
            "%s %s is a generator function: a generator cannot be carried as JSON; return a list instead" % (what, name))


def _own_source(fn):
    """fn's source alone, dedented, without its decorators."""
    try:
        text = inspect.getsource(fn)
    except (OSError, TypeError) as e:
        raise SerializationError(
            "the source of %s is not available (%s): functions defined in an interactive session or with exec cannot "
            "travel; write it in a file" % (fn.__qualname__, e))
    text = textwrap.dedent(text)
    try:
        tree = ast.parse(text)
    except SyntaxError as e:
        raise SerializationError("the source of %s, as inspect.getsource gives it, does not parse: %s" % (fn.__qualname__, e))
    node = tree.body[0] if tree.body else None
    if not isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) or node.name != fn.__name__:
        raise SerializationError("the source of %s does not start with its def" % fn.__qualname__)
    if node.decorator_list:  # decorators are not applied on the endpoint
        text = "".join(text.splitlines(True)[node.lineno - 1:])
    return text


def _global_names(code):
    """The global names code (and the code nested in it) reads."""
    names = set()
    for ins in dis.get_instructions(code):
        if ins.opname in ("LOAD_GLOBAL", "LOAD_NAME") and isinstance(ins.argval, str):
            names.add(ins.argval)
    for c in code.co_consts:
        if isinstance(c, types.CodeType):
            names |= _global_names(c)
    return names


class _Collector:
    """Gathers a function's source and what it needs from its module."""

    def __init__(self, module):
        self.module = module
        self.imports = []
        self.constants = []
        self.functions = []  # sources, helpers before the entry
        self.seen = {}  # global name -> value already provided

    def source(self):
        head = self.imports + self.constants
        return ("\n".join(head) + "\n\n\n" if head else "") + "\n\n".join(self.functions)

    def add_function(self, fn, entry):
        text = _own_source(fn)
        self.seen[fn.__name__] = fn
        for name in sorted(_global_names(fn.__code__)):
            if name in self.seen:  # provided already (the functions share their module's globals)
                continue
            if name not in fn.__globals__:
                continue  # a builtin, or a name that fails on the endpoint as it would here
            self.provide(fn, name, fn.__globals__[name], entry)
        self.functions.append(text)

    def provide(self, user, name, value, entry):
        self.seen[name] = value
        where = "%s uses the global %r" % (user.__qualname__, name)
        if isinstance(value, types.ModuleType):
            self.imports.append("import %s" % value.__name__ if name == value.__name__ else "import %s as %s" % (value.__name__, name))
            return
        same = getattr(value, "__module__", None) == self.module
        if inspect.isfunction(value) and same:
            # A function of the same file travels as source too.
            value = inspect.unwrap(value)
            _check_function(value, where + ",")
            self.add_function(value, entry)
            return
        if inspect.isclass(value) and same:
            raise SerializationError(
                "%s, the class %s of the same script: classes do not travel with a function's source; define it "
                "inside the function, or in a module installed on the endpoint" % (where, value.__qualname__))
        ref = _reference(value)
        if ref is not None:
            mod, qualname = ref
            self.imports.append("from %s import %s" % (mod, qualname) if name == qualname else "from %s import %s as %s" % (mod, qualname, name))
            return
        literal = _literal(value)
        if literal is not None:
            self.constants.append("%s = %s" % (name, literal))
            return
        raise SerializationError(
            "%s, a %s, which cannot travel with its source (only modules, functions, importable classes and JSON "
            "literals do): create it inside the function or pass it as an argument" % (where, type(value).__name__))


def _reference(value):
    """(module, name) to import value from, if it is a function, class or
    builtin reachable by name in a module other than the script."""
    if not (inspect.isfunction(value) or inspect.isclass(value) or inspect.isbuiltin(value)):
        return None
    mod = getattr(value, "__module__", None)
    qualname = getattr(value, "__qualname__", None)
    if not mod or not qualname or mod == "__main__" or "." in qualname or "<" in qualname:
        return None
    if getattr(sys.modules.get(mod), qualname, None) is not value:
        return None
    return mod, qualname


def _literal(value):
    """value as Python source, if it is a JSON literal that reads back."""
    try:
        check_value(value)
    except SerializationError:
        return None
    text = repr(value)
    try:
        if ast.literal_eval(text) != value:
            return None
    except (ValueError, SyntaxError, MemoryError, RecursionError):
        return None
    return text


def check_value(value, where="the value"):
    """Raises SerializationError unless JSON carries value faithfully."""
    _check(value, where, 0)


def _check(v, where, depth):
    if depth > 100:
        raise SerializationError("%s nests deeper than 100 levels" % where)
    if v is None or isinstance(v, (bool, int, str)):
        return
    if isinstance(v, float):
        if not math.isfinite(v):
            raise SerializationError("%s is %r, which JSON cannot carry: pass None or a string instead" % (where, v))
        return
    if isinstance(v, (list, tuple)):
        for i, x in enumerate(v):
            _check(x, "%s[%d]" % (where, i), depth + 1)
        return
    if isinstance(v, dict):
        for k, x in v.items():
            if not isinstance(k, str):
                raise SerializationError(
                    "%s has the key %r (a %s): JSON objects have string keys only, so it would arrive changed; "
                    "use strings as keys" % (where, k, type(k).__name__))
            _check(x, "%s[%r]" % (where, k), depth + 1)
        return
    hint = ""
    if hasattr(v, "tolist"):
        hint = " (for an array, pass .tolist())"
    elif isinstance(v, (set, frozenset)):
        hint = " (pass a list)"
    elif isinstance(v, (bytes, bytearray)):
        hint = " (pass a string, such as base64)"
    raise SerializationError(
        "%s is a %s, which JSON cannot carry%s: pass %s; nothing is pickled" % (where, type(v).__name__, hint, _ALLOWED))


def call_args(args, kwargs):
    """The JSON form of a call: {"args": [...], "kwargs": {...}}, checked."""
    for i, a in enumerate(args):
        check_value(a, "argument %d" % (i + 1))
    for k, a in kwargs.items():
        check_value(a, "keyword argument %r" % k)
    call = {}
    if args:
        call["args"] = list(args)
    if kwargs:
        call["kwargs"] = dict(kwargs)
    return call


def dumps(value):
    return json.dumps(value, allow_nan=False, separators=(",", ":"))

