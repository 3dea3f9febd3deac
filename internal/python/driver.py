# The funcx-go Python driver: it runs in a long-lived python3 started by a
# worker and calls Python functions for it, one at a time.
#
# The worker starts `python3 -c BOOTSTRAP` with three pipes as file
# descriptors 3 (requests), 4 (replies) and 5 (quiet replies, see QUIET),
# and sends this file as the first frame; the bootstrap execs it. Every
# frame is a 4-byte big-endian length and that many bytes of UTF-8 JSON.
# The driver answers with a hello frame, then one reply per request, until
# its request pipe closes.
#
# A request names a function by its ID (a hash of entry and source) and
# carries the source only when the driver may not have compiled it yet; a
# driver that no longer has the function answers {"missing": true} and the
# worker sends it again with the source. Each reply echoes its request's
# "seq": the worker may send the next requests before a reply comes, so
# that the driver goes from one call to the next without waiting for it.
# Compiled functions stay cached, so a warm call costs one JSON decode, the
# call and one JSON encode.
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
import time
import traceback

PROTOCOL = 2
MAX_CACHED = 256
DRIVER_FILE = "<funcx driver>"

# The pipes move to descriptors that are not inherited, so that a process
# the function starts (os.system, subprocess) never holds them: the worker
# must see end-of-file when this interpreter dies.
_IN = os.dup(3)
_OUT = os.dup(4)
_QUIET = os.dup(5)
os.close(3)
os.close(4)
os.close(5)


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


def _buffered_frame():
    """The next frame if it is wholly buffered already, else None."""
    global _inpos
    if len(_inbuf) - _inpos < 4:
        return None
    n = int.from_bytes(_inbuf[_inpos:_inpos + 4], "big")
    if len(_inbuf) - _inpos < 4 + n:
        return None
    start = _inpos + 4
    _inpos = start + n
    return _inbuf[start:_inpos]


def _write_frame(data, fd=None):
    view = memoryview(len(data).to_bytes(4, "big") + data)
    fd = _OUT if fd is None else fd
    while view:
        view = view[os.write(fd, view):]


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
_took = {}  # function ID of _cache -> seconds its last call took


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
        gone, (_, old) = _cache.popitem(last=False)
        linecache.cache.pop(old, None)
        _took.pop(gone, None)
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


def _decode(raw):
    """The request of a frame, or a string that says what is wrong with it."""
    try:
        req = json.loads(raw)
    except ValueError as e:  # cannot happen with a worker's requests
        return "bad request from the worker: %s" % e
    if not isinstance(req, dict):
        return "bad request from the worker: the request is not a JSON object"
    return req


def _serve_one(req):
    if isinstance(req, str):
        return _failure("InvalidTask", req, seq=0), None, None
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
    quiet = 0  # bytes written to the quiet pipe since the last reply
    since = 0.0  # when the first of them was written
    req = None  # the next request, taken from the buffer
    while True:
        if req is None:
            raw = _read_frame()
            if raw is None:  # the worker closed the pipe: stop
                return
            req = _decode(raw)
        start = time.perf_counter()
        reply, value, limit = _serve_one(req)
        data = _encode(reply, value, limit)
        now = time.perf_counter()
        short = now - start < QUIET_CALL
        hold = isinstance(req, dict) and req.get("hold") is True
        if isinstance(req, dict) and req.get("fid") in _cache:
            _took[req["fid"]] = now - start
        raw = _buffered_frame()
        req = None if raw is None else _decode(raw)
        if hold and short and _quiet_next(req) and quiet + len(data) + 4 <= QUIET_BYTES and (not quiet or now - since < QUIET_AGE):
            if not quiet:
                since = now
            quiet += len(data) + 4
            _write_frame(data, _QUIET)
        else:
            quiet = 0
            _write_frame(data)


# The quiet pipe. A reply on the reply pipe wakes the worker; one on the
# quiet pipe does not, and waits there until the next reply on the reply
# pipe, or until the worker has waited a moment and looks. For runs of
# short calls that the worker sent ahead, most replies go quietly and the
# worker wakes once for several. A reply goes quietly only if its request
# allows it ("hold": the worker sets it for a task with no timeout), its
# call took less than QUIET_CALL, the next request is here already and is
# of a function whose last call took less than QUIET_CALL (so the next
# reply, loud if need be, comes soon), and the quiet pipe holds less than
# QUIET_BYTES (it never fills) for less than QUIET_AGE.
QUIET_CALL = 0.0002
QUIET_AGE = 0.001
QUIET_BYTES = 16 << 10


def _quiet_next(nxt):
    """Whether the buffered request nxt promises a reply soon."""
    if not isinstance(nxt, dict):
        return False
    took = _took.get(nxt.get("fid"))
    return took is not None and took < QUIET_CALL


main()
