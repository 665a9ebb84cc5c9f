package vm

import (
	"bytes"
	"io"
	"strconv"
	"strings"
)

// The guest init prints these lines on the serial console; the host parses
// them. The nonce (random per run, passed in the initramfs) keeps test
// output from forging them.
const (
	startMarker = "VMTEST START "
	exitMarker  = "VMTEST EXIT "
	panicPrefix = "Attempted to kill init! exitcode="
)

// formatStart returns the line the guest prints before running the tests.
func formatStart(nonce string) string { return startMarker + nonce }

// formatExit returns the line the guest prints after the tests.
func formatExit(code int, nonce string) string {
	return exitMarker + strconv.Itoa(code) + " " + nonce
}

// parseStart reports whether line holds the start marker for nonce, and
// what came before it on the line.
func parseStart(line, nonce string) (prefix string, ok bool) {
	i := strings.Index(line, startMarker)
	if i < 0 || nonce == "" {
		return "", false
	}
	if strings.TrimSpace(line[i+len(startMarker):]) != nonce {
		return "", false
	}
	return line[:i], true
}

// parseExit reports whether line holds the exit marker for nonce, the exit
// code in it, and what came before it on the line (test output that did not
// end with a newline).
func parseExit(line, nonce string) (prefix string, code int, ok bool) {
	i := strings.Index(line, exitMarker)
	if i < 0 || nonce == "" {
		return "", 0, false
	}
	f := strings.Fields(line[i+len(exitMarker):])
	if len(f) != 2 || f[1] != nonce {
		return "", 0, false
	}
	code, err := strconv.Atoi(f[0])
	if err != nil || code < 0 || code > 255 {
		return "", 0, false
	}
	return line[:i], code, true
}

// parsePanic recognises the kernel's "Attempted to kill init!
// exitcode=0x00000200" panic (init exited) and returns the exit code the
// process would have had: the exit status, or 128+signal.
func parsePanic(line string) (code int, ok bool) {
	i := strings.Index(line, panicPrefix)
	if i < 0 {
		return 0, false
	}
	s := line[i+len(panicPrefix):]
	if j := strings.IndexFunc(s, func(r rune) bool { return r == ' ' || r == '\r' || r == ']' }); j >= 0 {
		s = s[:j]
	}
	st, err := strconv.ParseUint(strings.TrimPrefix(s, "0x"), 16, 32)
	if err != nil {
		return 0, false
	}
	if sig := st & 0x7f; sig != 0 {
		return 128 + int(sig), true
	}
	return int(st>>8) & 0xff, true
}

// console follows the guest's serial output line by line. Lines before the
// start marker (firmware and kernel boot messages) are held back and only
// shown if the run fails; lines between the markers are the test output and
// are streamed to out; lines after the exit marker are dropped.
type console struct {
	nonce   string
	out     io.Writer
	verbose bool   // stream everything, markers included
	onExit  func() // called once when the exit marker arrives; may be nil

	started, exited bool
	code            int
	panicked        bool
	panicCode       int
	pre             bytes.Buffer // boot messages before the start marker (capped)
	writeErr        error
}

const maxPre = 256 << 10

func (c *console) write(s string) {
	if c.writeErr != nil || c.out == nil {
		return
	}
	_, c.writeErr = io.WriteString(c.out, s)
}

// line handles one line of console output, without its line ending.
func (c *console) line(raw []byte) {
	l := strings.TrimRight(string(raw), "\r")
	if code, ok := parsePanic(l); ok && !c.exited {
		c.panicked, c.panicCode = true, code
	}
	if c.verbose {
		c.write(l + "\n")
	}
	switch {
	case c.exited:
		return
	case !c.started:
		if prefix, ok := parseStart(l, c.nonce); ok {
			c.started = true
			if strings.TrimSpace(prefix) != "" && !c.verbose {
				c.write(prefix + "\n")
			}
			return
		}
		if c.pre.Len() < maxPre {
			c.pre.WriteString(l + "\n")
		}
		return
	}
	if prefix, code, ok := parseExit(l, c.nonce); ok {
		c.exited, c.code = true, code
		if prefix != "" && !c.verbose {
			c.write(prefix + "\n")
		}
		if c.onExit != nil {
			c.onExit()
		}
		return
	}
	if !c.verbose {
		c.write(l + "\n")
	}
}

// flushPre writes the held-back boot messages (used when the run failed
// before the tests started).
func (c *console) flushPre() {
	if !c.verbose && c.pre.Len() > 0 {
		c.write(c.pre.String())
		c.pre.Reset()
	}
}
