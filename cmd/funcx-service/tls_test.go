package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/funcx-go/funcx/internal/tlstest"
)

// serveApp runs serve in this process with args until the test ends and
// returns the URL it prints and its stderr.
func serveApp(t *testing.T, args ...string) (url string, stderr *syncBuffer) {
	t.Helper()
	ctx, cancel := context.WithCancel(t.Context())
	var out syncBuffer
	stderr = &syncBuffer{}
	done := make(chan int, 1)
	go func() {
		done <- runApp(ctx, append([]string{"--db=" + filepath.Join(t.TempDir(), "s.db"), "serve", "--in-process-broker"}, args...), &out, stderr)
	}()
	t.Cleanup(func() {
		cancel()
		if code := <-done; code != 0 {
			t.Errorf("serve exited %d: %s", code, stderr)
		}
	})
	re := regexp.MustCompile(`listening on (https?://\S+)`)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m[1], stderr
		}
	}
	t.Fatalf("serve did not start: %q %q", out.String(), stderr)
	return "", nil
}

func getStatus(t *testing.T, c *http.Client, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode
}

// --metrics-token-file closes /metrics to requests without the token;
// the token never needs to be in argv.
func TestServeMetricsToken(t *testing.T) {
	t.Parallel()
	tokenFile := filepath.Join(t.TempDir(), "metrics-token")
	if err := os.WriteFile(tokenFile, []byte("fxm_scraper-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	url, _ := serveApp(t, "--listen=127.0.0.1:0", "--metrics-token-file="+tokenFile)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr}
	if code := getStatus(t, c, url+"/metrics", ""); code != http.StatusUnauthorized {
		t.Errorf("/metrics without the token: %d", code)
	}
	if code := getStatus(t, c, url+"/metrics", "fxm_scraper-secret"); code != http.StatusOK {
		t.Errorf("/metrics with the token: %d", code)
	}

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--metrics-token=a", "--metrics-token-file=" + tokenFile}, "both set"},
		{[]string{"--metrics-token-file=" + filepath.Join(t.TempDir(), "none")}, "read the metrics token"},
		{[]string{"--tls-cert=" + tokenFile}, "set both"},
	} {
		code, _, stderr := run(t, append([]string{"--db=" + filepath.Join(t.TempDir(), "s.db"), "serve", "--listen=127.0.0.1:0", "--in-process-broker"}, tc.args...)...)
		if code == 0 || !strings.Contains(stderr, tc.want) {
			t.Errorf("serve %v: exit %d, %q; want an error saying %q", tc.args, code, stderr, tc.want)
		}
	}
}

// Serving plain HTTP on every interface warns at start.
func TestServePlainHTTPWarning(t *testing.T) {
	t.Parallel()
	_, stderr := serveApp(t, "--listen=0.0.0.0:0")
	if !strings.Contains(stderr.String(), "serving plain HTTP on a non-loopback address") {
		t.Errorf("no warning; stderr: %s", stderr)
	}
}

// The binary serves HTTPS from --tls-cert and --tls-key and reloads them
// on SIGHUP: a new connection sees the new certificate. Files that do
// not make a certificate leave the last good one served, logged, and the
// service running.
func TestServeHTTPSReloadsOnSIGHUP(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	bin := filepath.Join(dir, "funcx-service")
	if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	ca := tlstest.NewCA(t, "campus CA")
	certFile, keyFile := ca.Issue(t, "first", "127.0.0.1").Write(t, filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))

	cmd := exec.Command(bin, "--db="+filepath.Join(dir, "s.db"), "serve", "--listen=127.0.0.1:0", "--in-process-broker",
		"--tls-cert="+certFile, "--tls-key="+keyFile)
	var stderr syncBuffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(30 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
	})
	lines := bufio.NewScanner(stdout)
	if !lines.Scan() {
		t.Fatalf("funcx-service printed nothing: %s", stderr.String())
	}
	go func() {
		for lines.Scan() {
		}
		exited <- cmd.Wait()
	}()
	m := regexp.MustCompile(`listening on https://(\S+)`).FindStringSubmatch(lines.Text())
	if m == nil {
		t.Fatalf("funcx-service said %q", lines.Text())
	}
	addr := m[1]
	served := func() string {
		conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: ca.Pool()})
		if err != nil {
			t.Fatalf("TLS handshake: %v", err)
		}
		defer conn.Close()
		return conn.ConnectionState().PeerCertificates[0].Subject.CommonName
	}
	waitFor := func(cn string) {
		t.Helper()
		for deadline := time.Now().Add(30 * time.Second); served() != cn; time.Sleep(20 * time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatalf("the service serves %q, not %q; stderr:\n%s", served(), cn, stderr.String())
			}
		}
	}
	if cn := served(); cn != "first" {
		t.Fatalf("serving %q", cn)
	}

	ca.Issue(t, "renewed", "127.0.0.1").Write(t, certFile, keyFile)
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor("renewed")

	// Half a renewal: a certificate without its key.
	if err := os.WriteFile(certFile, ca.Issue(t, "half", "127.0.0.1").CertPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	for deadline := time.Now().Add(30 * time.Second); !strings.Contains(stderr.String(), "TLS certificate not reloaded"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("no log of the failed reload; stderr:\n%s", stderr.String())
		}
	}
	if cn := served(); cn != "renewed" {
		t.Fatalf("after a failed reload: serving %q, want the last good one", cn)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := <-exited; err != nil {
		t.Fatalf("funcx-service exited: %v; stderr:\n%s", err, stderr.String())
	}
	exited <- nil // for the cleanup
}
