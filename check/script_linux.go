package check

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	buf bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func statMeta(p string) (fileMeta, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return fileMeta{}, err
	}
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return fileMeta{}, ErrNotSupported
	}
	return fileMeta{UID: st.Uid, GID: st.Gid, Mode: fi.Mode()}, nil
}

// lookupCredential resolves user and group names or numbers.
func lookupCredential(u, g string) (*syscall.Credential, error) {
	if u == "" && g == "" {
		return nil, nil
	}
	// Supplementary groups are dropped; only root may do that, so an
	// unprivileged caller keeps its own.
	cred := &syscall.Credential{Uid: uint32(os.Getuid()), Gid: uint32(os.Getgid()), Groups: []uint32{},
		NoSetGroups: os.Geteuid() != 0}
	if u != "" {
		usr, err := lookupNameOrID(u, user.Lookup, user.LookupId)
		if err != nil {
			return nil, fmt.Errorf("user %q: %w", u, err)
		}
		uid, err1 := strconv.ParseUint(usr.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(usr.Gid, 10, 32)
		if err1 != nil || err2 != nil {
			return nil, fmt.Errorf("user %q: non-numeric ids", u)
		}
		cred.Uid, cred.Gid = uint32(uid), uint32(gid)
	}
	if g != "" {
		grp, err := lookupNameOrID(g, user.LookupGroup, user.LookupGroupId)
		if err != nil {
			return nil, fmt.Errorf("group %q: %w", g, err)
		}
		gid, err := strconv.ParseUint(grp.Gid, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("group %q: non-numeric id", g)
		}
		cred.Gid = uint32(gid)
	}
	return cred, nil
}

// lookupNameOrID looks s up as a name, then as a number.
func lookupNameOrID[T any](s string, byName, byID func(string) (T, error)) (T, error) {
	v, err := byName(s)
	if err != nil {
		v, err = byID(s)
	}
	return v, err
}

func runScript(ctx context.Context, s *Script) (int, bool, error) {
	cred, err := lookupCredential(s.User, s.Group)
	if err != nil {
		return 0, false, fail(ctx, "script", s.Path, ReasonConfig, fmt.Errorf("%w: %w", ErrInvalidConfig, err))
	}
	path := s.Path
	if s.Security {
		runUID := uint32(os.Geteuid())
		if cred != nil {
			runUID = cred.Uid
		}
		abs, err := filepath.Abs(path)
		if err == nil {
			abs, err = filepath.EvalSymlinks(abs)
		}
		if err == nil {
			err = checkScriptSecurity(abs, runUID, statMeta)
		}
		if err != nil {
			return 0, false, fail(ctx, "script", s.Path, ReasonInsecure, err)
		}
		path = abs
	}
	cmd := exec.CommandContext(ctx, path, s.Args...)
	cmd.Env = s.Env
	if cmd.Env == nil {
		cmd.Env = []string{scriptPath}
	}
	cmd.Dir = s.Dir
	if cmd.Dir == "" {
		cmd.Dir = "/"
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Credential: cred}
	cmd.Cancel = func() error {
		// The child is its own process group leader: kill the group.
		return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	cmd.WaitDelay = scriptWaitDelay
	stderr := &limitedBuffer{max: 256}
	cmd.Stderr = stderr
	err = cmd.Run()
	if errors.Is(err, exec.ErrWaitDelay) && cmd.ProcessState != nil && cmd.ProcessState.Exited() {
		// The script exited but left a process holding its stderr open:
		// judge the script by its own exit status.
		err = nil
		if !cmd.ProcessState.Success() {
			err = &exec.ExitError{ProcessState: cmd.ProcessState}
		}
	}
	if ctx.Err() != nil {
		return 0, false, fail(ctx, "script", s.Path, ReasonTimeout, errScriptTimeout)
	}
	if err == nil {
		return 0, false, nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return 0, false, fail(ctx, "script", s.Path, ReasonExit, err)
	}
	code, sig := ee.ExitCode(), ""
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		code, sig = -1, ws.Signal().String()
	}
	w, dyn, err := exitResult(code, sig, s.Dynamic)
	if err != nil {
		var xe *ExitError
		if errors.As(err, &xe) {
			xe.Stderr = strings.TrimSpace(stderr.buf.String())
		}
		return 0, false, fail(ctx, "script", s.Path, ReasonExit, err)
	}
	return w, dyn, nil
}
