package check

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/nux-root/keepalived-go/internal/testutil"
)

// installScripts copies testdata/*.sh into a fresh directory with mode
// 0755 (git may not keep modes) and returns the directory.
func installScripts(t *testing.T) string {
	t.Helper()
	if runtime.GOOS != "linux" {
		t.Skip("scripts run on Linux only")
	}
	dir := t.TempDir()
	// t.TempDir's parent is 0700; other users (Script.User) need to reach
	// the scripts.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	names, err := filepath.Glob("testdata/*.sh")
	if err != nil || len(names) == 0 {
		t.Fatalf("no scripts: %v", err)
	}
	for _, n := range names {
		b, err := os.ReadFile(n)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, filepath.Base(n)), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestScriptExitCodes(t *testing.T) {
	dir := installScripts(t)
	exit := filepath.Join(dir, "exit.sh")
	type res struct {
		Weight  int
		Dynamic bool
		Reason  Reason
	}
	tests := []struct {
		code    string
		dynamic bool
		want    res
	}{
		{"0", false, res{}},
		{"1", false, res{Reason: ReasonExit}},
		{"2", false, res{Reason: ReasonExit}},
		{"0", true, res{}},
		{"1", true, res{Reason: ReasonExit}},
		{"2", true, res{0, true, 0}},
		{"12", true, res{10, true, 0}},
		{"255", true, res{253, true, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.code+"/dynamic="+strconv.FormatBool(tt.dynamic), func(t *testing.T) {
			s := &Script{Path: exit, Args: []string{tt.code}, Dynamic: tt.dynamic, Security: true}
			w, dyn, err := s.CheckWeight(ctxTimeout(t, 10*time.Second))
			if diff := cmp.Diff(tt.want, res{w, dyn, ReasonOf(err)}); diff != "" {
				t.Errorf("CheckWeight (-want +got):\n%s (err %v)", diff, err)
			}
			if err != nil {
				var xe *ExitError
				if !errors.As(err, &xe) || strconv.Itoa(xe.Code) != tt.code {
					t.Errorf("error %v lacks exit code %s", err, tt.code)
				}
			}
		})
	}
}

func TestScriptFailures(t *testing.T) {
	dir := installScripts(t)
	t.Run("stderr captured", func(t *testing.T) {
		err := (&Script{Path: filepath.Join(dir, "stderr.sh")}).Check(ctxTimeout(t, 10*time.Second))
		var xe *ExitError
		if !errors.As(err, &xe) || xe.Stderr != "service is broken" {
			t.Fatalf("Check = %v, want exit error with stderr", err)
		}
	})
	t.Run("signal", func(t *testing.T) {
		err := (&Script{Path: filepath.Join(dir, "signal.sh")}).Check(ctxTimeout(t, 10*time.Second))
		var xe *ExitError
		if !errors.As(err, &xe) || xe.Code != -1 || xe.Signal != "terminated" {
			t.Fatalf("Check = %v, want killed by SIGTERM", err)
		}
	})
	t.Run("missing", func(t *testing.T) {
		checkResult(t, (&Script{Path: filepath.Join(dir, "nope.sh")}).Check(ctxTimeout(t, 10*time.Second)), ReasonExit, nil)
	})
	t.Run("missing with security", func(t *testing.T) {
		checkResult(t, (&Script{Path: filepath.Join(dir, "nope.sh"), Security: true}).Check(ctxTimeout(t, 10*time.Second)), ReasonInsecure, nil)
	})
	t.Run("empty path", func(t *testing.T) {
		checkResult(t, (&Script{}).Check(context.Background()), ReasonConfig, nil)
	})
	t.Run("unknown user", func(t *testing.T) {
		checkResult(t, (&Script{Path: filepath.Join(dir, "exit.sh"), User: "no-such-user-kgo"}).Check(context.Background()), ReasonConfig, nil)
	})
	t.Run("unknown group", func(t *testing.T) {
		checkResult(t, (&Script{Path: filepath.Join(dir, "exit.sh"), Group: "no-such-group-kgo"}).Check(context.Background()), ReasonConfig, nil)
	})
}

func TestScriptArgsWithoutShell(t *testing.T) {
	dir := installScripts(t)
	out := filepath.Join(t.TempDir(), "args")
	args := []string{"plain", "two words", "$(touch /tmp/kgo-pwned)", "; rm -rf /", "`id`", "*", ""}
	s := &Script{Path: filepath.Join(dir, "args.sh"), Args: append([]string{out}, args...), Security: true}
	if err := s.Check(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(args, strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")); diff != "" {
		t.Errorf("arguments seen by the script (-want +got):\n%s", diff)
	}
	if _, err := os.Stat("/tmp/kgo-pwned"); err == nil {
		t.Error("an argument was interpreted by a shell")
	}
}

// gone reports whether pid has exited (absent or a zombie).
func gone(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	return i >= 0 && i+2 < len(s) && s[i+2] == 'Z'
}

func TestScriptTimeoutKillsProcessGroup(t *testing.T) {
	dir := installScripts(t)
	pids := filepath.Join(t.TempDir(), "pids")
	s := &Script{Path: filepath.Join(dir, "hang.sh"), Args: []string{pids}}
	err := s.Check(ctxTimeout(t, 500*time.Millisecond))
	checkResult(t, err, ReasonTimeout, nil)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("%v does not wrap context.DeadlineExceeded", err)
	}
	b, err := os.ReadFile(pids)
	if err != nil {
		t.Fatalf("script did not record its pids: %v", err)
	}
	for _, f := range strings.Fields(string(b)) {
		pid, _ := strconv.Atoi(f)
		ok := false
		for range 100 { // the kernel finishes the SIGKILLs asynchronously
			if gone(pid) {
				ok = true
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if !ok {
			t.Errorf("process %d of the script's group survived the timeout", pid)
		}
	}
}

func TestScriptSecurityRules(t *testing.T) {
	reg, dir := fs.FileMode(0o755), fs.ModeDir|0o755
	tests := []struct {
		name   string
		files  map[string]fileMeta
		runUID uint32
		want   string // "" = secure, else the offending path
	}{
		{"root owned", map[string]fileMeta{"/": {0, 0, dir}, "/usr": {0, 0, dir}, "/usr/s": {0, 0, reg}}, 0, ""},
		{"sticky tmp", map[string]fileMeta{"/": {0, 0, dir}, "/tmp": {0, 0, dir | fs.ModeSticky | 0o777}, "/tmp/s": {0, 0, reg}}, 0, ""},
		{"tmp without sticky", map[string]fileMeta{"/": {0, 0, dir}, "/tmp": {0, 0, dir | 0o777}, "/tmp/s": {0, 0, reg}}, 0, "/tmp"},
		{"world writable file", map[string]fileMeta{"/": {0, 0, dir}, "/s": {0, 0, reg | 0o002}}, 0, "/s"},
		{"sticky bit does not save a file", map[string]fileMeta{"/": {0, 0, dir}, "/s": {0, 0, reg | fs.ModeSticky | 0o002}}, 0, "/s"},
		{"group writable", map[string]fileMeta{"/": {0, 0, dir}, "/d": {0, 100, dir | 0o775}, "/d/s": {0, 0, reg}}, 0, "/d"},
		{"group writable by root group", map[string]fileMeta{"/": {0, 0, dir}, "/d": {0, 0, dir | 0o775}, "/d/s": {0, 0, reg}}, 0, ""},
		{"owned by user", map[string]fileMeta{"/": {0, 0, dir}, "/home": {0, 0, dir}, "/home/u": {1000, 1000, dir}, "/home/u/s": {1000, 1000, reg}}, 0, "/home/u/s"},
		{"owned by the runner", map[string]fileMeta{"/": {0, 0, dir}, "/home": {0, 0, dir}, "/home/u": {1000, 1000, dir}, "/home/u/s": {1000, 1000, reg}}, 1000, ""},
		{"not regular", map[string]fileMeta{"/": {0, 0, dir}, "/d": {0, 0, dir}}, 0, "/d"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var path string
			for p := range tt.files { // the script is the longest path
				if len(p) > len(path) {
					path = p
				}
			}
			stat := func(p string) (fileMeta, error) {
				m, ok := tt.files[p]
				if !ok {
					return fileMeta{}, fs.ErrNotExist
				}
				return m, nil
			}
			err := checkScriptSecurity(path, tt.runUID, stat)
			var ie *InsecureError
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("insecure: %v", err)
			case tt.want != "" && (!errors.As(err, &ie) || ie.Path != tt.want || !errors.Is(err, ErrInsecure)):
				t.Fatalf("err = %v, want insecure %s", err, tt.want)
			}
		})
	}
	if err := checkScriptSecurity("relative/s", 0, nil); !errors.Is(err, ErrInsecure) {
		t.Errorf("relative path accepted: %v", err)
	}
	if err := checkScriptSecurity("/x", 0, func(string) (fileMeta, error) { return fileMeta{}, fs.ErrPermission }); !errors.Is(err, fs.ErrPermission) {
		t.Errorf("stat error lost: %v", err)
	}
}

func TestScriptSecurityOnDisk(t *testing.T) {
	dir := installScripts(t)
	exit := filepath.Join(dir, "exit.sh")
	if err := (&Script{Path: exit, Args: []string{"0"}, Security: true}).Check(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatalf("secure script refused: %v", err)
	}
	// A symbolic link is resolved and its target checked.
	link := filepath.Join(t.TempDir(), "link.sh")
	if err := os.Symlink(exit, link); err != nil {
		t.Fatal(err)
	}
	if err := (&Script{Path: link, Args: []string{"0"}, Security: true}).Check(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatalf("secure script via symlink refused: %v", err)
	}
	if err := os.Chmod(dir, 0o777); err != nil {
		t.Fatal(err)
	}
	err := (&Script{Path: link, Args: []string{"0"}, Security: true}).Check(ctxTimeout(t, 10*time.Second))
	checkResult(t, err, ReasonInsecure, nil)
	var ie *InsecureError
	if !errors.As(err, &ie) || ie.Path != dir {
		t.Fatalf("err = %v, want %s insecure", err, dir)
	}
	// Without security the same script runs.
	if err := (&Script{Path: link, Args: []string{"0"}}).Check(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatalf("script refused without security: %v", err)
	}
}

func TestIntegrationScriptUser(t *testing.T) {
	testutil.RequireRoot(t)
	dir := installScripts(t)
	outDir := filepath.Join(filepath.Dir(dir), "out")
	if err := os.Mkdir(outDir, 0o777); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(outDir, 0o777); err != nil { // despite the umask
		t.Fatal(err)
	}
	tests := []struct{ user, group, want string }{
		{"nobody", "", "65534"},
		{"65534", "nogroup", "65534"},
		{"", "", "0"},
	}
	for _, tt := range tests {
		t.Run(tt.user, func(t *testing.T) {
			out := filepath.Join(outDir, "uid-"+tt.user)
			s := &Script{Path: filepath.Join(dir, "uid.sh"), Args: []string{out}, User: tt.user, Group: tt.group, Security: true}
			if err := s.Check(ctxTimeout(t, 10*time.Second)); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if got := strings.TrimSpace(string(b)); got != tt.want {
				t.Errorf("script ran as uid %s, want %s", got, tt.want)
			}
		})
	}
	// Running as nobody, a script owned by nobody is acceptable, one owned
	// by another user is not.
	own := filepath.Join(dir, "exit.sh")
	if err := os.Chown(own, 1, 1); err != nil {
		t.Fatal(err)
	}
	err := (&Script{Path: own, Args: []string{"0"}, User: "nobody", Security: true}).Check(ctxTimeout(t, 10*time.Second))
	checkResult(t, err, ReasonInsecure, nil)
	if err := os.Chown(own, 65534, 65534); err != nil {
		t.Fatal(err)
	}
	if err := (&Script{Path: own, Args: []string{"0"}, User: "nobody", Security: true}).Check(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatalf("script owned by its runner refused: %v", err)
	}
}

func TestScriptStragglerHoldingStderr(t *testing.T) {
	dir := installScripts(t)
	pgid := filepath.Join(t.TempDir(), "pgid")
	s := &Script{Path: filepath.Join(dir, "straggler.sh"), Args: []string{pgid, "0"}}
	err := s.Check(ctxTimeout(t, 20*time.Second))
	if b, rerr := os.ReadFile(pgid); rerr == nil {
		if pid, _ := strconv.Atoi(strings.TrimSpace(string(b))); pid > 0 {
			syscall.Kill(-pid, syscall.SIGKILL)
		}
	}
	if err != nil {
		t.Fatalf("script that exited 0 failed: %v", err)
	}
}

func TestScriptOwnUser(t *testing.T) {
	// Naming the caller's own user works with or without privileges.
	dir := installScripts(t)
	out := filepath.Join(t.TempDir(), "uid")
	uid := strconv.Itoa(os.Getuid())
	s := &Script{Path: filepath.Join(dir, "uid.sh"), Args: []string{out}, User: uid, Group: strconv.Itoa(os.Getgid())}
	if err := s.Check(ctxTimeout(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.TrimSpace(string(b)); got != uid {
		t.Errorf("ran as %s, want %s", got, uid)
	}
}
