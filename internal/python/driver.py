# The funcx-go Python driver: it runs in a long-lived python3 started by a
# worker and calls Python functions for it, one at a time.
#
# The worker starts `python3 -c BOOTSTRAP` with two pipes as file
# descriptors 3 (requests) and 4 (replies), and sends this file as the
# first frame; the bootstrap execs it. Every frame is a 4-byte big-endian
# length and that many bytes of UTF-8 JSON. The driver answers with a
# hello frame, then one reply per request, until its request pipe closes.
#
# A request names a function by its ID (a hash of entry and source) and
# carries the source only when the driver may not have compiled it yet; a
# driver that no longer has the function answers {"missing": true} and the
# worker sends it again with the source. Each reply echoes its request's
# "seq": the worker may send the next requests before a reply comes, so
# that the driver goes from one call to the next without waiting for it. Compiled functions stay cached,
# so a warm call costs one JSON decode, the call and one JSON encode.
#
# Standard library only, Python 3.6 or later: the interpreter may be any
# environment's (python_command), and nothing is pickled: arguments and
# return values are JSON.

import builtins
import collections
import io
import json
import linecache
import os
import sys
import traceback

PROTOCOL = 1
MAX_CACHED = 256
DRIVER_FILE = "<funcx driver>"

# The pipes move to descriptors that are not inherited, so that a process
# the function starts (os.system, subprocess) never holds them: the worker
# must see end-of-file when this interpreter dies.
_IN = os.dup(3)
_OUT = os.dup(4)
os.close(3)
os.close(4)


# Requests are read in chunks: when the worker sends calls ahead, one read
# takes several of them, and one frame costs no read of its own.
_CHUNK = 1 << 16
_inbuf = bytearray()
_inpos = 0


def _fill(n):
    """Reads until n bytes past _inpos are buffered; False at end-of-file."""
    global _inbuf, _inpos
    if _inpos:
        del _inbuf[:_inpos]
        _inpos = 0
    while len(_inbuf) < n:
        b = os.read(_IN, max(min(n - len(_inbuf), 1 << 20), _CHUNK))
        if not b:
            return False
        _inbuf += b
    return True


def _read_frame():
    global _inpos
    if len(_inbuf) - _inpos < 4 and not _fill(4):
        return None
    n = int.from_bytes(_inbuf[_inpos:_inpos + 4], "big")
    if len(_inbuf) - _inpos < 4 + n and not _fill(4 + n):
        return None
    start = _inpos + 4
    _inpos = start + n
    return _inbuf[start:_inpos]  # json.loads takes a bytearray


def _write_frame(data):
    view = memoryview(len(data).to_bytes(4, "big") + data)
    while view:
        view = view[os.write(_OUT, view):]


class _Capture(io.TextIOBase):
    """sys.stdout or sys.stderr during a call: keeps up to limit bytes."""

    encoding = "utf-8"
    errors = "replace"

    def __init__(self, limit):
        super().__init__()
        self._parts = []
        self._size = 0
        self._limit = limit
        self.truncated = False
        self.buffer = _BytesSink(self)

    def writable(self):
        return True

    def isatty(self):
        return False

    def write(self, s):
        if not isinstance(s, str):
            raise TypeError("write() argument must be str, not " + type(s).__name__)
        room = self._limit - self._size
        if len(s) > room:
            self.truncated = True
            s = s[:max(room, 0)]
        if s:
            self._parts.append(s)
            self._size += len(s)
        return len(s)

    def getvalue(self):
        data = "".join(self._parts).encode("utf-8", "replace")
        if len(data) > self._limit:
            self.truncated = True
            data = data[:self._limit]
        return data.decode("utf-8", "ignore")


class _BytesSink(io.RawIOBase):
    """sys.stdout.buffer during a call: bytes go to the text capture."""

    def __init__(self, text):
        super().__init__()
        self._text = text

    def writable(self):
        return True

    def write(self, b):
        self._text.write(bytes(b).decode("utf-8", "replace"))
        return len(b)


class _Refused(Exception):
    """A task that cannot run as given: InvalidTask."""


_cache = collections.OrderedDict()  # function ID -> (callable, filename)


def _compile(fid, source, entry):
    filename = "<funcx function %s %s>" % (entry, fid[:12])
    # Registered with linecache, the source shows in tracebacks.
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    try:
        code = compile(source, filename, "exec", dont_inherit=True)
    except SyntaxError as e:
        linecache.cache.pop(filename, None)
        raise _Refused("the source does not compile:\n" + "".join(traceback.format_exception_only(type(e), e)))
    namespace = {"__name__": "__funcx__", "__builtins__": builtins}
    try:
        exec(code, namespace)
    except BaseException:
        linecache.cache.pop(filename, None)
        raise
    fn = namespace.get(entry)
    if fn is None or not callable(fn):
        linecache.cache.pop(filename, None)
        what = "nothing" if fn is None else "a " + type(fn).__name__
        raise _Refused("the source binds %s to %r, not a function: entry must name a function the source defines" % (what, entry))
    _cache[fid] = (fn, filename)
    while len(_cache) > MAX_CACHED:
        _, (_, old) = _cache.popitem(last=False)
        linecache.cache.pop(old, None)
    return fn


def _lookup(req):
    fid = req.get("fid")
    if not isinstance(fid, str) or not fid:
        raise _Refused("the request names no function ID")
    hit = _cache.get(fid)
    if hit is not None:
        _cache.move_to_end(fid)
        return hit[0]
    source, entry = req.get("source"), req.get("entry")
    if source is None:
        return None
    if not isinstance(source, str) or not isinstance(entry, str) or not entry:
        raise _Refused("the request's source and entry must be strings")
    return _compile(fid, source, entry)


def _arguments(call):
    if call is None:
        return [], {}
    if not isinstance(call, dict):
        raise _Refused('the arguments must be a JSON object {"args": [...], "kwargs": {...}}')
    unknown = set(call) - {"args", "kwargs"}
    if unknown:
        raise _Refused('the arguments have unknown keys %s: use "args" and "kwargs"' % sorted(unknown))
    args, kwargs = call.get("args"), call.get("kwargs")
    if args is None:
        args = []
    if kwargs is None:
        kwargs = {}
    if not isinstance(args, list) or not isinstance(kwargs, dict):
        raise _Refused('"args" must be a JSON array and "kwargs" a JSON object')
    return args, kwargs


def _traceback(e):
    """The exception's traceback without the driver's own frames."""
    tb = e.__traceback__
    while tb is not None and tb.tb_frame.f_code.co_filename == DRIVER_FILE:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(e), e, tb))


def _describe(e):
    text = str(e)
    return type(e).__name__ + (": " + text if text else "")


def _failure(kind, message, **extra):
    out = {"ok": False, "kind": kind, "message": message}
    out.update(extra)
    return out


def _handle(req):
    """Runs one request and returns the reply's fields, value apart."""
    fn = _lookup(req)
    if fn is None:
        return {"missing": True}, None
    args, kwargs = _arguments(req.get("call"))
    value = fn(*args, **kwargs)
    try:
        encoded = json.dumps(value, allow_nan=False, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: escaped instead
        encoded = json.dumps(value, allow_nan=False, separators=(",", ":")).encode("ascii")
    except (TypeError, ValueError, RecursionError) as e:
        return _failure(
            "RemoteError",
            "the return value cannot be carried as JSON (%s): return None, booleans, numbers, strings, "
            "lists and dicts with string keys; no pickle crosses the wire" % _describe(e),
            type=type(e).__name__,
        ), None
    return {"ok": True}, encoded


def _serve_one(raw):
    try:
        req = json.loads(raw)
        if not isinstance(req, dict):
            raise _Refused("the request is not a JSON object")
    except (ValueError, _Refused) as e:  # cannot happen with a worker's requests
        return _failure("InvalidTask", "bad request from the worker: %s" % e, seq=0), None, None
    limit = req.get("limit")
    if not isinstance(limit, int) or limit < 0:
        limit = 1 << 20
    out, err = _Capture(limit), _Capture(limit)
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = out, err
    value = None
    try:
        reply, value = _handle(req)
    except _Refused as e:
        reply = _failure("InvalidTask", str(e))
    except BaseException as e:  # the function's failure, SystemExit included
        reply = _failure("RemoteError", _describe(e), type=type(e).__name__, traceback=_traceback(e))
        if isinstance(e, ModuleNotFoundError) and e.name:
            reply["module"] = e.name
    finally:
        sys.stdout, sys.stderr = saved
    if "missing" not in reply:
        reply["stdout"], reply["stderr"] = out.getvalue(), err.getvalue()
        reply["truncated"] = out.truncated or err.truncated
    reply["seq"] = req.get("seq", 0)
    return reply, value, req.get("max")


def _encode(reply, value, limit):
    head = json.dumps(reply, separators=(",", ":")).encode("ascii")
    data = head if value is None else head[:-1] + b',"value":' + value + b"}"
    if isinstance(limit, int) and 0 < limit < len(data):
        size = len(data) if value is None else len(value)
        data = json.dumps(_failure(
            "ResultTooLarge",
            "the result is %d bytes of JSON, more than the %d the fabric carries: return less, or write it to a file" % (size, limit),
            seq=reply.get("seq", 0),
        )).encode("ascii")
    return data


def main():
    _write_frame(json.dumps({
        "protocol": PROTOCOL,
        "pid": os.getpid(),
        "version": "%d.%d.%d" % sys.version_info[:3],
        "executable": sys.executable,
    }).encode("ascii"))
    while True:
        raw = _read_frame()
        if raw is None:  # the worker closed the pipe: stop
            return
        reply, value, limit = _serve_one(raw)
        _write_frame(_encode(reply, value, limit))


main()
