package faults

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/funcx-go/funcx/service/api"
)

// duplicatesMetric is the service's counter of results dropped as
// duplicates.
const duplicatesMetric = "funcx_service_duplicate_results_total"

// dupCounter sums the service's duplicates counter over its restarts: a
// restarted service counts from 0 again. Scrapes started before a
// restart are discarded, so that the old service's figure is not counted
// twice.
type dupCounter struct {
	hc        *http.Client
	mu        sync.Mutex
	base, cur float64
	gen       int
}

// scrape reads the counter from the service at url.
func (d *dupCounter) scrape(ctx context.Context, url string) {
	d.mu.Lock()
	gen := d.gen
	d.mu.Unlock()
	v, err := readMetric(ctx, d.hc, url+api.PathMetrics, duplicatesMetric)
	if err != nil {
		return // down or restarting: the next scrape reads it
	}
	d.mu.Lock()
	if gen == d.gen {
		d.cur = max(d.cur, v)
	}
	d.mu.Unlock()
}

// restarted starts the count of a new service.
func (d *dupCounter) restarted() {
	d.mu.Lock()
	d.base += d.cur
	d.cur = 0
	d.gen++
	d.mu.Unlock()
}

func (d *dupCounter) total() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return int(d.base + d.cur)
}

// readMetric fetches a Prometheus text page and returns the metric's
// value (0 if the page lacks it: a counter not yet incremented may be
// absent).
func readMetric(ctx context.Context, hc *http.Client, url, name string) (float64, error) {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if err != nil {
		return 0, err
	}
	v, _, err := parseMetric(body, name)
	return v, err
}

// parseMetric finds an unlabelled sample of name in a Prometheus text
// page; ok is false if there is none.
func parseMetric(page []byte, name string) (v float64, ok bool, err error) {
	sc := bufio.NewScanner(bytes.NewReader(page))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		rest, found := strings.CutPrefix(line, name)
		if !found || !strings.HasPrefix(rest, " ") {
			continue
		}
		fields := strings.Fields(rest)
		if len(fields) == 0 {
			return 0, false, fmt.Errorf("metric %s: no value", name)
		}
		v, err := strconv.ParseFloat(fields[0], 64)
		if err != nil {
			return 0, false, fmt.Errorf("metric %s: value %q: %w", name, fields[0], err)
		}
		return v, true, nil
	}
	return 0, false, sc.Err()
}
