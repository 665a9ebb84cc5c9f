package check

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"path/filepath"
	"time"
)

// scriptPath is the PATH of scripts when Script.Env is nil.
const scriptPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// Script is keepalived's MISC_CHECK (and vrrp_script): it runs Path with Args
// directly, without a shell, so arguments are never interpolated.
//
// Exit status 0 means up, 1 means down. With Dynamic (misc_dynamic), 2-255
// mean up with weight status-2; without it, any non-zero status means down.
// Death by a signal means down. When the context's deadline passes, the
// script's whole process group is killed with SIGKILL (keepalived's
// misc_timeout) and the check fails with a timeout.
//
// With Security (keepalived's enable_script_security), the script is refused
// when the file or any directory above it is writable by a user other than
// root or the user the script runs as. Linux only; other systems return
// ErrNotSupported.
type Script struct {
	// Path is the program to run. Required; relative paths are resolved
	// against the working directory of the calling process.
	Path string
	// Args are the arguments after the program name.
	Args []string
	// User runs the script as this user name or numeric uid (script_user).
	// If empty, the script runs as the calling process's user.
	User string
	// Group runs the script with this group name or numeric gid. If empty
	// and User is set, the user's primary group.
	Group string
	// Env is the script's environment. If nil, only a standard PATH.
	Env []string
	// Dir is the working directory. If empty, "/".
	Dir string
	// Dynamic maps exit status 2-255 to a weight (misc_dynamic).
	Dynamic bool
	// Security refuses insecure scripts (enable_script_security).
	Security bool
}

// Validate reports an invalid configuration; the error wraps
// [ErrInvalidConfig]. Check reports the same as a ReasonConfig failure.
func (s *Script) Validate() error { return configError("script", s.validate()) }

func (s *Script) validate() error {
	if s.Path == "" {
		return fmt.Errorf("empty script path: %w", ErrInvalidConfig)
	}
	return nil
}

type scriptKey struct {
	path, args, user, group, env, dir string
	envNil, dynamic, security         bool
}

// CheckKey returns a comparable value naming every parameter of s. Lists are
// quoted, so no two different lists share a key.
func (s *Script) CheckKey() any {
	return scriptKey{s.Path, fmt.Sprintf("%q", s.Args), s.User, s.Group, fmt.Sprintf("%q", s.Env), s.Dir,
		s.Env == nil, s.Dynamic, s.Security}
}

// Check runs the script; see CheckWeight.
func (s *Script) Check(ctx context.Context) error {
	_, _, err := s.CheckWeight(ctx)
	return err
}

// CheckWeight runs the script and maps its exit status.
func (s *Script) CheckWeight(ctx context.Context) (weight int, dynamic bool, err error) {
	if err := s.validate(); err != nil {
		return 0, false, fail(ctx, "script", s.Path, ReasonConfig, err)
	}
	return runScript(ctx, s)
}

// exitResult maps an exit status (or -1 for a signal) to keepalived's
// MISC_CHECK semantics.
func exitResult(code int, sig string, dynamic bool) (weight int, isDynamic bool, err error) {
	switch {
	case code == 0:
		return 0, false, nil
	case code >= 2 && code <= 255 && dynamic:
		return code - 2, true, nil
	}
	return 0, false, &ExitError{Code: code, Signal: sig}
}

// fileMeta is what script security needs to know about a path.
type fileMeta struct {
	UID, GID uint32
	Mode     fs.FileMode
}

// checkScriptSecurity walks path (already free of symbolic links) and every
// parent directory, refusing any writable by someone other than root or
// runUID. Sticky directories writable by everyone (like /tmp) are accepted:
// others may not replace entries they do not own.
func checkScriptSecurity(path string, runUID uint32, stat func(string) (fileMeta, error)) error {
	p := filepath.Clean(path)
	if !filepath.IsAbs(p) {
		return &InsecureError{Path: path, Reason: "path is not absolute"}
	}
	first := true
	for {
		m, err := stat(p)
		if err != nil {
			return fmt.Errorf("stat %s: %w", p, err)
		}
		if first && !m.Mode.IsRegular() {
			return &InsecureError{Path: p, Reason: "not a regular file"}
		}
		switch {
		case m.UID != 0 && m.UID != runUID:
			return &InsecureError{Path: p, Reason: fmt.Sprintf("owned by uid %d", m.UID)}
		case m.Mode.Perm()&0o020 != 0 && m.GID != 0:
			return &InsecureError{Path: p, Reason: fmt.Sprintf("writable by group %d", m.GID)}
		case m.Mode.Perm()&0o002 != 0 && (first || m.Mode&fs.ModeSticky == 0):
			return &InsecureError{Path: p, Reason: "writable by everyone"}
		}
		first = false
		parent := filepath.Dir(p)
		if parent == p {
			return nil
		}
		p = parent
	}
}

// scriptWaitDelay bounds how long Wait waits for pipes held open by
// grandchildren after the process group was killed.
const scriptWaitDelay = 2 * time.Second

var errScriptTimeout = errors.New("script timed out; process group killed")
