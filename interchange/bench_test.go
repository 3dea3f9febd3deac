package interchange_test

import (
	"encoding/binary"
	"fmt"
	"testing"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/interchange/interchangetest"
)

// BenchmarkDispatch measures interchange dispatch with zero-work managers:
// tasks in through Submit, over TCP to fake managers that answer at once,
// results back out. It is the interchange's own ceiling.
func BenchmarkDispatch(b *testing.B) {
	for _, managers := range []int{1, 4, 16} {
		b.Run(fmt.Sprintf("managers=%d", managers), func(b *testing.B) {
			ix := setup(b, nil)
			for range managers {
				dial(b, ix, func(c *interchangetest.FakeManagerConfig) {
					c.Workers, c.Prefetch, c.CountOnly = 64, 8192/managers, true
				})
			}
			const batch = 4096
			in := make([]funcx.Task, batch)
			for i := range in {
				in[i] = funcx.Task{ID: funcx.NewTaskID(), Function: funcx.GoFunc("noop")}
			}
			b.ReportAllocs()
			b.ResetTimer()
			done := 0
			go func() {
				var seq uint64
				for sent := 0; sent < b.N; sent += batch {
					n := min(batch, b.N-sent)
					for i := range n { // unique IDs, cheaper than random ones
						seq++
						binary.BigEndian.PutUint64(in[i].ID[8:], seq)
					}
					_ = ix.Submit(in[:n]...)
				}
			}()
			for done < b.N {
				done += len(<-ix.Results())
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
		})
	}
}
