"""One round of the bench's Python SDK row: n no-op Python tasks through
funcx_go.Executor, after a warm-up, timed from the first submission to the
last result. Prints {"rate": tasks/s, "returned": results checked}.

    python3 pysdk.py ENDPOINT_ID N   (FUNCX_SERVICE_URL and the client's
    credentials in the environment, funcx_go on PYTHONPATH)
"""

import json
import sys
import time

from funcx_go import Executor


def noop():
    return None


def main():
    endpoint, n = sys.argv[1], int(sys.argv[2])
    with Executor(endpoint_id=endpoint) as ex:
        for f in [ex.submit(noop) for _ in range(50)]:  # registered, cursor fixed, connections open
            f.result(timeout=120)
        start = time.monotonic()
        futures = [ex.submit(noop) for _ in range(n)]
        returned = 0
        for f in futures:
            if f.result(timeout=180) is not None:
                raise SystemExit("a no-op returned %r" % f.result())
            returned += 1
        elapsed = time.monotonic() - start
    print(json.dumps({"rate": n / elapsed, "returned": returned}))


if __name__ == "__main__":
    main()
