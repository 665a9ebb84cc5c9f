// Command keepalived is a keepalived-compatible daemon built from the
// keepalived-go packages: it reads keepalived.conf (internal/config), runs
// every vrrp_instance with package vrrp on shared raw sockets, installs
// virtual addresses, routes and rules with package vip on MASTER, runs
// notify scripts and writes notify_fifo lines, tracks scripts, files and
// interfaces, and drives IPVS virtual servers (package ipvs) from health
// checks (package check).
//
//	keepalived -n -l -D -f /etc/keepalived/keepalived.conf
//	keepalived -t -f keepalived.conf          # check the configuration
//
// It always runs in the foreground. SIGHUP reloads the configuration (a
// broken file is reported and ignored), SIGTERM/SIGINT stop it and remove
// exactly what it added, SIGUSR1 writes a text dump and SIGUSR2 a JSON
// dump of its state. See README.md.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/nux-root/keepalived-go/internal/config"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// flags are the command line settings.
type flags struct {
	file, configID, pidFile, metricsAddr, jsonDump, dumpDir string
	dontFork, logConsole, logDetail, configTest             bool
	vrrpOnly, checkOnly, version                            bool
	scriptTimeout, ifacePoll                                time.Duration
}

// parseFlags parses keepalived's options; short and long names are
// aliases and single-letter booleans may be combined (-nlD).
func parseFlags(args []string, stderr io.Writer) (*flags, error) {
	f := &flags{}
	fs := flag.NewFlagSet("keepalived", flag.ContinueOnError)
	fs.SetOutput(stderr)
	str := func(p *string, def, usage string, names ...string) {
		for _, n := range names {
			fs.StringVar(p, n, def, usage)
		}
	}
	boolean := func(p *bool, usage string, names ...string) {
		for _, n := range names {
			fs.BoolVar(p, n, false, usage)
		}
	}
	str(&f.file, "/etc/keepalived/keepalived.conf", "configuration file", "f", "use-file")
	str(&f.configID, "", "config id for @id lines (default: short host name)", "i", "config-id")
	str(&f.pidFile, defaultPidFile, "pid file, locked while the daemon runs (empty: none)", "p", "pid")
	str(&f.metricsAddr, "", "serve Prometheus metrics on this address (e.g. 127.0.0.1:9650); off if empty", "metrics-addr")
	str(&f.dumpDir, os.TempDir(), "directory of the SIGUSR1 text dump (keepalived.data) and SIGUSR2 JSON dump (keepalived.json)", "dump-dir")
	str(&f.jsonDump, "", "path of the JSON dump written on SIGUSR2 (default <dump-dir>/keepalived.json)", "json-dump")
	boolean(&f.dontFork, "stay in the foreground (always the case)", "n", "dont-fork")
	boolean(&f.logConsole, "log to the console (stderr; always the case)", "l", "log-console")
	boolean(&f.logDetail, "detailed (debug) logs", "D", "log-detail")
	boolean(&f.configTest, "check the configuration and exit: 0 if valid, 1 otherwise", "t", "config-test")
	boolean(&f.vrrpOnly, "run only the VRRP part", "P", "vrrp")
	boolean(&f.checkOnly, "run only the LVS/health-check part", "C", "check")
	boolean(&f.version, "print the version and exit", "v", "version")
	fs.DurationVar(&f.scriptTimeout, "script-timeout", 30*time.Second, "timeout of a notify script")
	fs.DurationVar(&f.ifacePoll, "iface-poll", 200*time.Millisecond, "link state polling period of tracked interfaces")
	if err := fs.Parse(expandShort(args, "nlDtPCv")); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	return f, nil
}

// expandShort splits combined single-letter boolean options: -nlD → -n -l -D.
func expandShort(args []string, bools string) []string {
	var out []string
	for i, a := range args {
		if a == "--" {
			return append(out, args[i:]...)
		}
		if len(a) > 2 && a[0] == '-' && a[1] != '-' && !strings.Contains(a, "=") {
			ok := true
			for _, c := range a[1:] {
				if !strings.ContainsRune(bools, c) {
					ok = false
				}
			}
			if ok {
				for _, c := range a[1:] {
					out = append(out, "-"+string(c))
				}
				continue
			}
		}
		out = append(out, a)
	}
	return out
}

// run is the whole program; it returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	f, err := parseFlags(args, stderr)
	if err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		fmt.Fprintln(stderr, "keepalived:", err)
		return 2
	}
	if f.version {
		fmt.Fprintln(stdout, "keepalived-go (keepalived.conf compatible)")
		return 0
	}
	if f.configTest {
		return configTest(f, stdout)
	}
	level := new(slog.LevelVar)
	if f.logDetail {
		level.Set(slog.LevelDebug)
	}
	log := slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: level}))

	cfg, warns, err := config.ParseFile(f.file, config.Options{ConfigID: f.configID})
	for _, w := range warns {
		log.Warn("config", "msg", w.String())
	}
	if err != nil {
		logConfigError(log, err)
		return 1
	}
	// single instance: the pid file stays locked while we run (pidfile.go)
	pf, err := lockPidFile(f.pidFile, os.Getpid())
	if err != nil {
		return pidFileRefused(log, err)
	}
	defer pf.Close()
	opt := options{
		ConfigFile: f.file, ConfigID: f.configID, DumpDir: f.dumpDir, JSONDump: f.jsonDump,
		ScriptTimeout: f.scriptTimeout, IfacePoll: f.ifacePoll,
		VRRP: !f.checkOnly || f.vrrpOnly, Check: !f.vrrpOnly || f.checkOnly,
	}
	if opt.JSONDump == "" {
		opt.JSONDump = filepath.Join(opt.DumpDir, "keepalived.json")
	}
	var met *metrics
	if f.metricsAddr != "" {
		met = newMetrics()
	}
	sigs := make(chan os.Signal, 8)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2)
	defer signal.Stop(sigs)

	d := newDaemon(log, opt, met)
	if met != nil {
		stop, err := met.serve(f.metricsAddr, log)
		if err != nil {
			log.Error("metrics", "err", err)
			d.shutdown()
			return 1
		}
		defer stop()
	}
	sd := newSDNotifier(log)
	d.run(cfg)
	log.Info("running", "config", f.file, "pid", os.Getpid())
	sd.ready("running " + f.file)
	for s := range sigs {
		switch s {
		case syscall.SIGHUP:
			log.Info("reloading", "config", f.file)
			sd.reloading()
			if err := d.reload(f.file); err != nil {
				log.Error("reload failed; keeping the running configuration")
				sd.ready("reload refused; running the previous configuration")
			} else {
				sd.ready("running " + f.file)
			}
		case syscall.SIGUSR1:
			d.writeDump(false)
		case syscall.SIGUSR2:
			d.writeDump(true)
		default:
			log.Info("stopping", "signal", s.String())
			sd.stopping()
			d.shutdown()
			log.Info("stopped")
			return 0
		}
	}
	return 0
}

// configTest parses the configuration and prints every warning and error
// with its position (keepalived -t).
func configTest(f *flags, out io.Writer) int {
	cfg, warns, err := config.ParseFile(f.file, config.Options{ConfigID: f.configID, ReportNoEffect: true})
	if err == nil {
		warns = append(warns, daemonProblems(cfg, f.file)...)
	}
	for _, w := range warns {
		fmt.Fprintf(out, "%s: warning: %s\n", w.Pos, w.Msg)
	}
	if err != nil {
		var list config.ErrorList
		if errors.As(err, &list) {
			for _, e := range list {
				fmt.Fprintf(out, "%s: error: %s\n", e.Pos, e.Msg)
			}
		} else {
			fmt.Fprintf(out, "%s: error: %v\n", f.file, err)
		}
		return 1
	}
	if config.TestStatus(warns, nil) == config.ExitConfigProblems {
		// keepalived -t exits config.ExitConfigProblems here (issue 14).
		fmt.Fprintf(out, "%s: configuration has problems (keepalived -t exits %d)\n", f.file, config.ExitConfigProblems)
		return 0
	}
	fmt.Fprintf(out, "%s: configuration OK\n", f.file)
	return 0
}
