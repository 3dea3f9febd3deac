package rabbitmq

import (
	"fmt"
	"testing"
)

func TestRawRoundTrip(t *testing.T) {
	t.Parallel()
	requireBroker(t)
	p := prefix(t, "rt")
	stats, err := RunRoundTrip(t.Context(), RoundTripConfig{URL: testAMQPURL, Messages: 200, Batch: 10, LatencySamples: 20, QueuePrefix: "funcx.bench." + p})
	if err != nil {
		t.Fatal(err)
	}
	if stats.ItemsPerSec <= 0 || stats.P50 <= 0 || stats.P99 < stats.P50 || stats.Max < stats.P99 {
		t.Fatalf("implausible stats: %+v", stats)
	}
	t.Log(stats)
}

// BenchmarkRawRoundTrip is the RabbitMQ baseline: b.N task messages of
// batch items each, round trip, reported in items/s.
func BenchmarkRawRoundTrip(b *testing.B) {
	for _, batch := range []int{1, 10, 100} {
		b.Run(fmt.Sprint("batch=", batch), func(b *testing.B) {
			requireBroker(b)
			stats, err := RunRoundTrip(b.Context(), RoundTripConfig{URL: testAMQPURL, Messages: b.N, Batch: batch})
			if err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(stats.ItemsPerSec, "items/s")
			b.ReportMetric(stats.MsgsPerSec, "msgs/s")
		})
	}
}

// BenchmarkRawLatency times one-at-a-time round trips of one task.
func BenchmarkRawLatency(b *testing.B) {
	requireBroker(b)
	stats, err := RunRoundTrip(b.Context(), RoundTripConfig{URL: testAMQPURL, LatencySamples: b.N})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportMetric(float64(stats.P50.Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(stats.P99.Microseconds())/1000, "p99-ms")
}
