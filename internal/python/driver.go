package python

import _ "embed" // the driver travels inside the worker binary

// driverSource is the driver, sent as the first frame on the request pipe.
//
//go:embed driver.py
var driverSource []byte

// bootstrap is the interpreter's -c program: it reads the driver frame
// from descriptor 3 and runs it, with "<funcx driver>" as its file name so
// that the driver can leave its own frames out of a function's traceback.
// It stays short since it shows in ps.
const bootstrap = `import os
def r(n):
    b = b""
    while len(b) < n:
        c = os.read(3, n - len(b))
        if not c:
            raise SystemExit(0)
        b += c
    return b
exec(compile(r(int.from_bytes(r(4), "big")), "<funcx driver>", "exec"), {"__name__": "__funcx_driver__"})
`

// ProtocolVersion is the driver protocol this package speaks; the driver
// states its own in the hello frame.
const ProtocolVersion = 2
