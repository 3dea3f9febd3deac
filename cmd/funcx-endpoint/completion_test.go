package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// The installed bash completion completes: bash sources the rc file and
// runs the completion function with COMP_WORDS set, as it does on Tab.
func TestInstallCompletionBash(t *testing.T) {
	t.Parallel()
	bin := build(t, ".")[0]
	home, funcxHome := t.TempDir(), t.TempDir()
	env := append(cleanEnv(), "HOME="+home, "FUNCX_HOME="+funcxHome, "SHELL=/bin/bash")
	install := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Env = env
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	out := install("--install-completion", "bash")
	script := filepath.Join(home, ".bash_completions", "funcx-endpoint.sh")
	if !strings.Contains(out, script) {
		t.Fatalf("does not say where: %q", out)
	}
	install("--install-completion") // the login shell, bash; idempotent
	rc, err := os.ReadFile(filepath.Join(home, ".bashrc"))
	if err != nil || strings.Count(string(rc), "source ") != 1 {
		t.Fatalf(".bashrc: %q, %v", rc, err)
	}
	// A profile, for name completion.
	cmd := exec.Command(bin, "configure", "cluster")
	cmd.Env = env
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("configure: %v\n%s", err, out)
	}

	complete := func(words ...string) []string {
		t.Helper()
		quoted := make([]string, len(words))
		for i, w := range words {
			quoted[i] = "'" + w + "'"
		}
		sh := "source ~/.bashrc\n" +
			"COMP_WORDS=(" + strings.Join(quoted, " ") + ")\n" +
			"COMP_CWORD=" + strconv.Itoa(len(words)-1) + "\n" +
			"spec=$(complete -p funcx-endpoint) || exit 1\n" +
			"fn=${spec#*-F }; fn=${fn%% *}\n" +
			"$fn funcx-endpoint \"${COMP_WORDS[COMP_CWORD]}\" \"${COMP_WORDS[COMP_CWORD-1]}\"\n" +
			"printf '%s\\n' \"${COMPREPLY[@]}\"\n"
		c := exec.Command("bash", "--norc", "--noprofile", "-c", sh)
		c.Env = env
		out, err := c.CombinedOutput()
		if err != nil {
			t.Fatalf("bash: %v\n%s", err, out)
		}
		got := strings.Fields(string(out))
		slices.Sort(got)
		return got
	}
	if got := complete("funcx-endpoint", "st"); !slices.Equal(got, []string{"start", "stop"}) {
		t.Errorf("funcx-endpoint st<Tab>: %q", got)
	}
	if got := complete("funcx-endpoint", "start", "--fo"); !slices.Equal(got, []string{"--foreground"}) {
		t.Errorf("funcx-endpoint start --fo<Tab>: %q", got)
	}
	if got := complete("funcx-endpoint", "stop", "cl"); !slices.Equal(got, []string{"cluster"}) {
		t.Errorf("funcx-endpoint stop cl<Tab>: %q", got)
	}
	if got := complete("funcx-endpoint", ""); slices.Contains(got, "daemon") || !slices.Contains(got, "configure") {
		t.Errorf("funcx-endpoint <Tab>: %q", got)
	}
}

func TestInstallCompletionOtherShells(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ shell, file, rc string }{
		{"zsh", ".zfunc/funcx-endpoint.zsh", ".zshrc"},
		{"fish", ".config/fish/completions/funcx-endpoint.fish", ""},
	} {
		t.Run(tc.shell, func(t *testing.T) {
			t.Parallel()
			w := newWorld(t)
			w.env["SHELL"] = "/usr/bin/" + tc.shell
			r := w.runExe(t, "--install-completion")
			if r.code != 0 {
				t.Fatalf("%+v", r)
			}
			b, err := os.ReadFile(filepath.Join(w.env["HOME"], tc.file))
			if err != nil || !strings.Contains(string(b), "/usr/local/bin/funcx-endpoint") {
				t.Fatalf("%s: %q, %v", tc.file, b, err)
			}
			if tc.rc != "" {
				if rc, err := os.ReadFile(filepath.Join(w.env["HOME"], tc.rc)); err != nil || !strings.Contains(string(rc), tc.file) {
					t.Fatalf("%s: %q, %v", tc.rc, rc, err)
				}
			}
		})
	}
	w := newWorld(t)
	if r := w.run(t, "--install-completion", "tcsh"); r.code != 1 || !strings.Contains(r.stderr, "unknown shell") {
		t.Fatalf("tcsh: %+v", r)
	}
	w.env["SHELL"] = "/bin/ksh"
	if r := w.run(t, "--install-completion"); r.code != 1 || !strings.Contains(r.stderr, "name it") {
		t.Fatalf("ksh login shell: %+v", r)
	}
}
