"""Module-level functions and globals for the source tests: what a user's
script holds."""

import functools
import json
import math as m
from os.path import join

SCALE = 2
NAMES = {"a": [1, 2.5, None, True]}
LOCK = object()


def helper(x):
    return SCALE * x


def uses_globals(x):
    return [m.floor(helper(x)), join("a", "b"), json.dumps(NAMES, sort_keys=True)]


def recursive(n):
    return 1 if n <= 1 else n * recursive(n - 1)


def timed(fn):
    @functools.wraps(fn)
    def wrapper(*a, **k):
        return fn(*a, **k)
    return wrapper


@timed
def decorated(x):
    return x + 1


def uses_unsendable():
    return LOCK


def gen():
    yield 1


async def coro():
    return 1


class Thing:
    pass


def uses_class():
    return Thing()


square = lambda x: x * x  # noqa: E731


def uses_lambda(x):
    return square(x)


def make_closure(k):
    def add(x):
        return x + k
    return add
