package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// shells are those --install-completion supports.
var shells = []string{"bash", "zsh", "fish"}

// bashFunction asks the program for candidates the way kongplete answers
// them: with COMP_LINE and COMP_POINT set. It takes the line from bash's
// COMP_LINE when bash sets it (interactive completion), else from
// COMP_WORDS up to COMP_CWORD, so that it also works when called
// directly. %[1]q is the program's path, %[2]s its name, %[3]s the
// function's name.
const bashFunction = `%[3]s() {
    local line
    if [ -n "${COMP_LINE-}" ]; then
        line="${COMP_LINE:0:${COMP_POINT:-${#COMP_LINE}}}"
    else
        line="${COMP_WORDS[*]:0:$((COMP_CWORD + 1))}"
    fi
    local IFS=$'\n'
    COMPREPLY=($(COMP_LINE="$line" COMP_POINT="${#line}" %[1]q 2>/dev/null))
}
complete -o default -F %[3]s %[2]s
`

// completionScripts are the completion hooks per shell.
var completionScripts = map[string]string{
	"bash": "# %[2]s shell completion (written by %[2]s --install-completion bash)\n" + bashFunction,
	"zsh":  "# %[2]s shell completion (written by %[2]s --install-completion zsh)\nautoload -U +X bashcompinit && bashcompinit\n" + bashFunction,
	"fish": "# %[2]s shell completion (written by %[2]s --install-completion fish)\n" +
		"function __complete_%[2]s\n    set -lx COMP_LINE (commandline -cp)\n    test -z (commandline -ct)\n    and set COMP_LINE \"$COMP_LINE \"\n    %[1]q\nend\n" +
		"complete -f -c %[2]s -a \"(__complete_%[2]s)\"\n",
}

const installFlag = "--install-completion"

// InstallCompletionArg finds --install-completion [SHELL] in args. Its
// value is optional, which kong flags cannot express.
func InstallCompletionArg(args []string) (shell string, ok bool, err error) {
	for i, a := range args {
		switch {
		case a == "--":
			return "", false, nil
		case a == installFlag:
			if i+1 < len(args) && slices.Contains(shells, args[i+1]) {
				return args[i+1], true, nil
			}
			if i+1 < len(args) && args[i+1] != "" && args[i+1][0] != '-' {
				return "", false, unknownShell(args[i+1])
			}
			return "", true, nil
		case strings.HasPrefix(a, installFlag+"=") && len(a) > len(installFlag)+1:
			if shell = a[len(installFlag)+1:]; !slices.Contains(shells, shell) {
				return "", false, unknownShell(shell)
			}
			return shell, true, nil
		}
	}
	return "", false, nil
}

func unknownShell(s string) error {
	return fmt.Errorf("--install-completion: unknown shell %q: use bash, zsh or fish", s)
}

// InstallCompletion writes program name's completion script for shell
// (default: the login shell from $SHELL) and, for bash and zsh, a line
// sourcing it in the shell's rc file (once). fish loads its completions
// directory itself.
func InstallCompletion(sys *System, name, shell string) error {
	shell, home, exe, err := completionTarget(sys, shell)
	if err != nil {
		return err
	}
	var script, rc string
	switch shell {
	case "bash":
		script, rc = filepath.Join(home, ".bash_completions", name+".sh"), filepath.Join(home, ".bashrc")
	case "zsh":
		script, rc = filepath.Join(home, ".zfunc", name+".zsh"), filepath.Join(home, ".zshrc")
	case "fish":
		script = filepath.Join(home, ".config", "fish", "completions", name+".fish")
	}
	fn := "_" + strings.ReplaceAll(name, "-", "_") + "_complete"
	if err := writeScript(script, fmt.Appendf(nil, completionScripts[shell], exe, name, fn)); err != nil {
		return fmt.Errorf("--install-completion: %w", err)
	}
	fmt.Fprintf(sys.Stdout, "Wrote %s completion for %s to %s.\n", shell, name, script)
	if rc != "" {
		line := fmt.Sprintf("source %q", script)
		added, err := appendOnce(rc, line)
		if err != nil {
			return fmt.Errorf("--install-completion: %w", err)
		}
		if added {
			fmt.Fprintf(sys.Stdout, "Added to %s: %s\n", rc, line)
		}
	}
	fmt.Fprintln(sys.Stdout, "Open a new shell (or source the file) to use it.")
	return nil
}

// completionTarget settles the shell, the user's home and the program's
// absolute path.
func completionTarget(sys *System, shell string) (string, string, string, error) {
	if shell == "" {
		shell = filepath.Base(sys.Getenv("SHELL"))
		if !slices.Contains(shells, shell) {
			return "", "", "", fmt.Errorf("--install-completion: cannot tell your shell from $SHELL (%q): name it: --install-completion bash, zsh or fish", sys.Getenv("SHELL"))
		}
	}
	home := sys.Getenv("HOME")
	if home == "" {
		return "", "", "", errors.New("--install-completion: $HOME is not set")
	}
	exe, err := sys.Executable()
	if err != nil {
		return "", "", "", fmt.Errorf("--install-completion: find this program: %w", err)
	}
	if exe, err = filepath.Abs(exe); err != nil {
		return "", "", "", fmt.Errorf("--install-completion: %w", err)
	}
	return shell, home, exe, nil
}

func writeScript(path string, script []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, script, 0o644)
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
