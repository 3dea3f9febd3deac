// Package wire is the framed, versioned, size-limited binary protocol
// spoken between the interchange and its managers, and between a manager
// and its workers.
//
// A frame is a 4-byte big-endian length, then one message-type byte, then
// the payload; the length counts the type byte and the payload. Payloads
// are compact binary encodings (uvarints, length-prefixed strings and
// bytes) so that one frame carries a whole batch of tasks or results
// cheaply: batching is what lets the fabric move hundreds of thousands of
// tasks a second across process boundaries.
//
// Every decoder checks each length against the bytes that remain, so a
// malformed or hostile frame yields an error, never a panic or a huge
// allocation. The first frame on a manager connection is a Hello that
// carries ProtocolVersion; peers refuse other versions.
package wire
