package main

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// shells are those --install-completion supports.
var shells = []string{"bash", "zsh", "fish"}

// bashFunction asks this binary for candidates the way kongplete answers
// them: with COMP_LINE and COMP_POINT set. It takes the line from bash's
// COMP_LINE when bash sets it (interactive completion), else from
// COMP_WORDS up to COMP_CWORD, so that it also works when called directly.
const bashFunction = `_funcx_endpoint_complete() {
    local line
    if [ -n "${COMP_LINE-}" ]; then
        line="${COMP_LINE:0:${COMP_POINT:-${#COMP_LINE}}}"
    else
        line="${COMP_WORDS[*]:0:$((COMP_CWORD + 1))}"
    fi
    local IFS=$'\n'
    COMPREPLY=($(COMP_LINE="$line" COMP_POINT="${#line}" %[1]q 2>/dev/null))
}
complete -o default -F _funcx_endpoint_complete %[2]s
`

// completionScripts are the completion hooks per shell.
var completionScripts = map[string]string{
	"bash": "# funcx-endpoint shell completion (written by funcx-endpoint --install-completion bash)\n" + bashFunction,
	"zsh":  "# funcx-endpoint shell completion (written by funcx-endpoint --install-completion zsh)\nautoload -U +X bashcompinit && bashcompinit\n" + bashFunction,
	"fish": "# funcx-endpoint shell completion (written by funcx-endpoint --install-completion fish)\n" +
		"function __complete_%[2]s\n    set -lx COMP_LINE (commandline -cp)\n    test -z (commandline -ct)\n    and set COMP_LINE \"$COMP_LINE \"\n    %[1]q\nend\n" +
		"complete -f -c %[2]s -a \"(__complete_%[2]s)\"\n",
}

// installCompletion writes the completion script for shell (default: the
// login shell from $SHELL) and, for bash and zsh, a line sourcing it in
// the shell's rc file (once). fish loads its completions directory itself.
func installCompletion(sys *system, shell string) error {
	if shell == "" {
		shell = filepath.Base(sys.getenv("SHELL"))
		if !strings.Contains(" bash zsh fish ", " "+shell+" ") {
			return fmt.Errorf("--install-completion: cannot tell your shell from $SHELL (%q): name it: --install-completion bash, zsh or fish", sys.getenv("SHELL"))
		}
	}
	home := sys.getenv("HOME")
	if home == "" {
		return errors.New("--install-completion: $HOME is not set")
	}
	exe, err := sys.executable()
	if err != nil {
		return fmt.Errorf("--install-completion: find this program: %w", err)
	}
	if exe, err = filepath.Abs(exe); err != nil {
		return fmt.Errorf("--install-completion: %w", err)
	}
	const name = "funcx-endpoint"
	var script, rc string
	switch shell {
	case "bash":
		script, rc = filepath.Join(home, ".bash_completions", name+".sh"), filepath.Join(home, ".bashrc")
	case "zsh":
		script, rc = filepath.Join(home, ".zfunc", name+".zsh"), filepath.Join(home, ".zshrc")
	case "fish":
		script = filepath.Join(home, ".config", "fish", "completions", name+".fish")
	}
	if err := os.MkdirAll(filepath.Dir(script), 0o755); err != nil {
		return fmt.Errorf("--install-completion: %w", err)
	}
	if err := os.WriteFile(script, fmt.Appendf(nil, completionScripts[shell], exe, name), 0o644); err != nil {
		return fmt.Errorf("--install-completion: %w", err)
	}
	fmt.Fprintf(sys.stdout, "Wrote %s completion for %s to %s.\n", shell, name, script)
	if rc != "" {
		line := fmt.Sprintf("source %q", script)
		added, err := appendOnce(rc, line)
		if err != nil {
			return fmt.Errorf("--install-completion: %w", err)
		}
		if added {
			fmt.Fprintf(sys.stdout, "Added to %s: %s\n", rc, line)
		}
	}
	fmt.Fprintln(sys.stdout, "Open a new shell (or source the file) to use it.")
	return nil
}

// appendOnce appends line to the file unless it holds it already.
func appendOnce(path, line string) (bool, error) {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return false, err
	}
	for l := range strings.SplitSeq(string(data), "\n") {
		if strings.TrimSpace(l) == line {
			return false, nil
		}
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o644)
	if err != nil {
		return false, err
	}
	prefix := ""
	if len(data) > 0 && !strings.HasSuffix(string(data), "\n") {
		prefix = "\n"
	}
	_, err = fmt.Fprintf(f, "%s%s\n", prefix, line)
	return true, errors.Join(err, f.Close())
}
