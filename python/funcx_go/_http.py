"""HTTP to the service: persistent connections (one per thread), bearer
tokens from the client-credentials exchange, renewed when they expire,
and retries with backoff for calls that are safe to repeat."""

import http.client
import json
import random
import socket
import ssl
import threading
import time
import urllib.parse

from .errors import FuncxError, ServiceError

# Errors of a connection the server closed while it idled: the request
# did not reach the service, so it is sent again on a fresh connection.
_STALE = (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError, http.client.CannotSendRequest)

RETRY_BASE = 0.1
RETRY_MAX = 5.0


def backoff(attempt):
    """Seconds to wait before retry number attempt (from 0), with jitter."""
    d = min(RETRY_BASE * (2 ** min(attempt, 16)), RETRY_MAX)
    return d / 2 + random.uniform(0, d / 2)


class Transport:
    def __init__(self, service_url, client_id="", client_secret="", token="", timeout=30.0, max_retries=4):
        u = urllib.parse.urlsplit(service_url.rstrip("/"))
        if u.scheme not in ("http", "https") or not u.hostname:
            raise FuncxError("service URL %r: want http://host:port or https://host" % service_url)
        self._https = u.scheme == "https"
        self._host = u.hostname
        self._port = u.port
        self._prefix = u.path
        self._timeout = timeout
        self._max_retries = max_retries
        self._client_id = client_id
        self._client_secret = client_secret
        self._token = token
        self._token_expires = float("inf") if token else 0.0
        self._token_lock = threading.Lock()
        self._local = threading.local()
        self._conns = []  # every connection, closed by close()
        self._conns_lock = threading.Lock()
        self._closed = False

    # -- connections --

    def _connection(self, fresh=False):
        conn = getattr(self._local, "conn", None)
        if conn is not None and not fresh:
            return conn, True
        if conn is not None:
            conn.close()
        if self._closed:
            raise FuncxError("the client is closed")
        if self._https:
            conn = http.client.HTTPSConnection(self._host, self._port, timeout=self._timeout, context=ssl.create_default_context())
        else:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
        self._local.conn = conn
        with self._conns_lock:
            self._conns.append(conn)
        return conn, False

    def close(self):
        """Closes every connection, interrupting a long poll in flight."""
        self._closed = True
        with self._conns_lock:
            conns, self._conns = self._conns, []
        for c in conns:
            sock = c.sock
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            c.close()

    # -- tokens --

    def _bearer(self):
        with self._token_lock:
            if self._token and time.monotonic() < self._token_expires:
                return self._token
            if not self._client_id:
                return self._token
            status, doc = self._send("POST", "/v1/token", {
                "grant_type": "client_credentials", "client_id": self._client_id, "client_secret": self._client_secret,
            }, None, self._timeout)
            self._token = doc["access_token"]
            # Renewed a little before it expires.
            self._token_expires = time.monotonic() + max(float(doc.get("expires_in", 3600)) * 0.9, 1.0)
            return self._token

    def _invalidate(self, token):
        with self._token_lock:
            if self._client_id and self._token == token:
                self._token, self._token_expires = "", 0.0
                return True
            return False

    # -- requests --

    def call(self, method, path, body=None, query=None, idempotent=False, extra_timeout=0.0):
        """Makes an authenticated call and returns the decoded JSON body
        (None for 204). Errors raise ServiceError; temporary failures of
        idempotent calls are retried."""
        if query:
            path += "?" + urllib.parse.urlencode(query)
        renewed = False
        attempt = 0
        while True:
            token = self._bearer()
            try:
                return self._send(method, path, body, token, self._timeout + extra_timeout)[1]
            except ServiceError as e:
                if e.status == 401 and not renewed and self._invalidate(token):
                    renewed = True
                    continue
                if not (e.temporary and idempotent) or attempt >= self._max_retries:
                    raise
            except (OSError, http.client.HTTPException) as e:
                if self._closed:
                    raise FuncxError("the client is closed") from e
                if not idempotent or attempt >= self._max_retries:
                    raise FuncxError("%s %s: %s" % (method, path, e)) from e
            time.sleep(backoff(attempt))
            attempt += 1

    def _send(self, method, path, body, token, timeout):
        data = None if body is None else json.dumps(body, separators=(",", ":")).encode("utf-8")
        headers = {"Accept": "application/json"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        if token:
            headers["Authorization"] = "Bearer " + token
        fresh = False
        while True:
            conn, reused = self._connection(fresh)
            try:
                conn.timeout = timeout
                if conn.sock is not None:
                    conn.sock.settimeout(timeout)
                conn.request(method, self._prefix + path, body=data, headers=headers)
                resp = conn.getresponse()
                raw = resp.read()
                break
            except _STALE:
                conn.close()
                if not reused or fresh:
                    raise
                fresh = True  # the idle connection was gone: once more on a new one
            except BaseException:
                conn.close()
                raise
        if resp.getheader("Connection", "").lower() == "close":
            conn.close()
        if resp.status >= 400:
            code, message = "", raw[:200].decode("utf-8", "replace")
            try:
                err = json.loads(raw)["error"]
                code, message = err.get("code", ""), err.get("message", "")
            except (ValueError, KeyError, TypeError):
                pass
            raise ServiceError(resp.status, code or resp.reason, message)
        if resp.status == 204 or not raw:
            return resp.status, None
        try:
            return resp.status, json.loads(raw)
        except ValueError as e:
            raise FuncxError("%s %s: the service answered %d with a body that is not JSON: %s" % (method, path, resp.status, e))
