package service

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/funcx-go/funcx"
	"github.com/funcx-go/funcx/service/api"
)

func (s *Service) handleRegisterFunction(w http.ResponseWriter, r *http.Request, who Identity) error {
	var req api.RegisterFunctionRequest
	if err := s.decodeJSON(w, r, &req); err != nil {
		return err
	}
	fn, err := functionFromRequest(&req)
	if err != nil {
		return badRequest("%v", err)
	}
	rec := FunctionRecord{ID: uuid.NewString(), Owner: who.ID, Name: req.Name, Function: fn, ContainerImage: req.ContainerImage, CreatedAt: s.now()}
	if err := s.store.CreateFunction(r.Context(), rec); err != nil {
		return fmt.Errorf("store function: %w", err)
	}
	writeJSON(w, http.StatusOK, api.RegisterFunctionResponse{FunctionID: rec.ID})
	return nil
}

// Limits on a function's definition: it is copied into every task.
const (
	maxFunctionText  = 64 << 10 // a script, or all of argv
	maxFunctionShort = 1024     // names, dir, image, an env entry
	maxEnvEntries    = 256
)

// functionFromRequest validates a registration and builds the function.
func functionFromRequest(req *api.RegisterFunctionRequest) (funcx.Function, error) {
	var f funcx.Function
	if len(req.Name) > maxFunctionShort || len(req.GoName) > maxFunctionShort || len(req.Entry) > maxFunctionShort ||
		len(req.Dir) > maxFunctionShort || len(req.ContainerImage) > maxFunctionShort {
		return f, fmt.Errorf("name, go_name, entry, dir and container_image are limited to %d bytes each", maxFunctionShort)
	}
	if req.Kind != "python" && (req.Source != "" || req.Entry != "") {
		return f, fmt.Errorf("source and entry are for kind \"python\", not %q", req.Kind)
	}
	if err := functionNames(req); err != nil {
		return f, err
	}
	switch req.Kind {
	case "python":
		return pythonFromRequest(req)
	case "shell":
		f.Kind = funcx.KindShell
		if req.GoName != "" {
			return f, errors.New("go_name is for kind \"go\"; a shell function takes argv or script")
		}
		if len(req.Argv) > 0 && req.Script != "" {
			return f, errors.New("set argv or script, not both")
		}
		n := len(req.Script)
		for _, a := range req.Argv {
			n += len(a)
		}
		if n > maxFunctionText {
			return f, fmt.Errorf("argv or script is %d bytes long, more than %d", n, maxFunctionText)
		}
	case "go":
		f.Kind = funcx.KindGo
		if len(req.Argv) > 0 || req.Script != "" {
			return f, errors.New("argv and script are for kind \"shell\"; a go function takes go_name")
		}
	case "":
		return f, errors.New("kind is required: \"shell\", \"go\" or \"python\"")
	default:
		return f, fmt.Errorf("kind %q is unknown: use \"shell\", \"go\" or \"python\"", req.Kind)
	}
	f.Name, f.Argv, f.Script, f.Dir, f.OutputLimit = req.GoName, req.Argv, req.Script, req.Dir, req.OutputLimit
	var err error
	if f.Timeout, err = parseTimeout(req.Timeout); err != nil {
		return f, err
	}
	if len(req.Env) > maxEnvEntries {
		return f, fmt.Errorf("env has %d entries, more than %d", len(req.Env), maxEnvEntries)
	}
	for k, v := range req.Env {
		if k == "" || strings.ContainsAny(k, "=\x00") || strings.ContainsRune(v, 0) || len(k)+len(v) > maxFunctionShort {
			return f, fmt.Errorf("env entry %q is not a valid environment variable", k)
		}
	}
	if len(req.Env) > 0 {
		f.Env = req.Env
	}
	if err := f.Validate(); err != nil {
		return f, err
	}
	return f, nil
}

// functionNames checks the names and strings of a registration that are
// shown to people or passed to the operating system as they are.
func functionNames(req *api.RegisterFunctionRequest) error {
	if req.Name != "" {
		if err := validName("name", req.Name, maxFunctionShort); err != nil {
			return err
		}
	}
	if err := errors.Join(validText("go_name", req.GoName, maxFunctionShort), validText("container_image", req.ContainerImage, maxFunctionShort)); err != nil {
		return err
	}
	// No process can take a NUL in its arguments or working directory.
	if strings.ContainsRune(req.Dir, 0) || strings.ContainsRune(req.Script, 0) {
		return errors.New("dir and script may not contain NUL characters")
	}
	for i, a := range req.Argv {
		if strings.ContainsRune(a, 0) {
			return fmt.Errorf("argv[%d] contains a NUL character, which no process can take as an argument", i)
		}
	}
	return nil
}

// pythonFromRequest builds a Python function: source and entry, and the
// limits every kind has; argv, script, go_name, env and dir do not apply.
func pythonFromRequest(req *api.RegisterFunctionRequest) (funcx.Function, error) {
	f := funcx.Python(req.Source, req.Entry)
	if len(req.Argv) > 0 || req.Script != "" || req.GoName != "" {
		return f, errors.New("argv, script and go_name are not for kind \"python\": give its code as source and the function to call as entry")
	}
	if len(req.Env) > 0 || req.Dir != "" {
		return f, errors.New("env and dir are for shell functions: a Python function sets os.environ or calls os.chdir itself")
	}
	f.OutputLimit = req.OutputLimit
	var err error
	if f.Timeout, err = parseTimeout(req.Timeout); err != nil {
		return f, err
	}
	return f, f.Validate()
}

// parseTimeout reads a registration's timeout; empty is none.
func parseTimeout(text string) (time.Duration, error) {
	if text == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(text)
	if err != nil {
		return 0, fmt.Errorf("timeout %q is not a duration like \"30s\" or \"1h30m\"", text)
	}
	return d, nil
}

func (s *Service) handleGetFunction(w http.ResponseWriter, r *http.Request, who Identity) error {
	f, err := s.ownFunction(r.Context(), "function id", r.PathValue("id"), who)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, functionToAPI(f))
	return nil
}

func functionToAPI(f *FunctionRecord) api.Function {
	out := api.Function{
		FunctionID: f.ID,
		Owner:      f.Owner,
		CreatedAt:  utc(f.CreatedAt),
		RegisterFunctionRequest: api.RegisterFunctionRequest{
			Name:           f.Name,
			Kind:           f.Function.Kind.String(),
			Argv:           f.Function.Argv,
			Script:         f.Function.Script,
			GoName:         f.Function.Name,
			Env:            f.Function.Env,
			Dir:            f.Function.Dir,
			OutputLimit:    f.Function.OutputLimit,
			ContainerImage: f.ContainerImage,
		},
	}
	if f.Function.Kind == funcx.KindPython {
		out.Source, out.Entry, out.Script, out.GoName = f.Function.Script, f.Function.Name, "", ""
	}
	if f.Function.Timeout > 0 {
		out.Timeout = f.Function.Timeout.String()
	}
	return out
}
