//go:build !unix

package rawio

import "io"

// Reader returns r: raw reads are for unix descriptors.
func Reader(r io.Reader) io.Reader { return r }

// Writer returns w: raw writes are for unix descriptors.
func Writer(w io.Writer) io.Writer { return w }
