"""Credentials, found where the Go CLIs (funcx login, funcx-endpoint) keep
them: $FUNCX_SDK_CLIENT_ID and $FUNCX_SDK_CLIENT_SECRET, else
$FUNCX_HOME/credentials.json (FUNCX_HOME defaults to ~/.funcx), whose
service URL $FUNCX_SERVICE_URL overrides."""

import json
import os
import stat

from .errors import NotLoggedIn

ENV_HOME = "FUNCX_HOME"
ENV_SERVICE_URL = "FUNCX_SERVICE_URL"
ENV_CLIENT_ID = "FUNCX_SDK_CLIENT_ID"
ENV_CLIENT_SECRET = "FUNCX_SDK_CLIENT_SECRET"
CREDENTIALS_FILE = "credentials.json"


class Credentials:
    """A service URL and either a client identity (ID and secret) or a
    bearer token."""

    def __init__(self, service_url="", client_id="", client_secret="", token=""):
        self.service_url = service_url
        self.client_id = client_id
        self.client_secret = client_secret
        self.token = token

    def has_secret(self):
        return bool(self.token or (self.client_id and self.client_secret))


def home(environ=None):
    """The funcX home directory: $FUNCX_HOME, else ~/.funcx."""
    environ = os.environ if environ is None else environ
    if environ.get(ENV_HOME):
        return environ[ENV_HOME]
    base = environ.get("HOME") or os.path.expanduser("~")
    return os.path.join(base, ".funcx")


def load(path):
    """Reads a credentials file; a file others may read is refused, since
    it holds a secret."""
    with open(path, "rb") as f:
        mode = os.fstat(f.fileno()).st_mode
        if stat.S_IMODE(mode) & 0o077:
            raise NotLoggedIn("%s has mode %04o, readable by others: run chmod 600 %s" % (path, stat.S_IMODE(mode), path))
        data = f.read(1 << 20)
    try:
        doc = json.loads(data)
    except ValueError as e:
        raise NotLoggedIn("load credentials from %s: %s (run `funcx login` to rewrite it)" % (path, e))
    if not isinstance(doc, dict):
        raise NotLoggedIn("load credentials from %s: not a JSON object (run `funcx login` to rewrite it)" % path)
    return Credentials(doc.get("service_url", ""), doc.get("client_id", ""), doc.get("client_secret", ""), doc.get("token", ""))


def resolve(environ=None, service_url=None, client_id=None, client_secret=None, token=None):
    """The credentials to use, as the Go CLIs resolve them; arguments that
    are set win over the environment and the file."""
    environ = os.environ if environ is None else environ
    path = os.path.join(home(environ), CREDENTIALS_FILE)
    try:
        c = load(path)
    except FileNotFoundError:
        c = Credentials()
    if environ.get(ENV_SERVICE_URL):
        c.service_url = environ[ENV_SERVICE_URL]
    cid, secret = environ.get(ENV_CLIENT_ID, ""), environ.get(ENV_CLIENT_SECRET, "")
    if cid and secret:
        c.client_id, c.client_secret, c.token = cid, secret, ""
    elif cid or secret:
        raise NotLoggedIn("only one of %s and %s is set: set both" % (ENV_CLIENT_ID, ENV_CLIENT_SECRET))
    if service_url:
        c.service_url = service_url
    if client_id or client_secret:
        if not (client_id and client_secret):
            raise NotLoggedIn("give both client_id and client_secret")
        c.client_id, c.client_secret, c.token = client_id, client_secret, ""
    elif token:
        c.token, c.client_id, c.client_secret = token, "", ""
    if not c.has_secret():
        raise NotLoggedIn("not logged in: run `funcx login` or set %s and %s" % (ENV_CLIENT_ID, ENV_CLIENT_SECRET))
    if not c.service_url:
        raise NotLoggedIn("no service URL: run `funcx login --service-url URL` or set %s" % ENV_SERVICE_URL)
    return c
