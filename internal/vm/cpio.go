package vm

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"strings"
)

// cpio "new ASCII" (newc) format, as read by the Linux initramfs unpacker
// (Documentation/driver-api/early-userspace/buffer-format.rst): a 110-byte
// header of "070701" and thirteen 8-digit hexadecimal fields, the
// NUL-terminated name padded to a multiple of 4 bytes (counting the header),
// then the data padded to a multiple of 4 bytes. The archive ends with an
// entry named "TRAILER!!!". Several archives may be concatenated.

const (
	cpioMagic   = "070701"
	cpioTrailer = "TRAILER!!!"
	cpioHdrLen  = 110

	modeDir  = 0o040000
	modeReg  = 0o100000
	modeLnk  = 0o120000
	modeChr  = 0o020000
	modePerm = 0o7777
)

var errCPIOClosed = errors.New("vm: cpio writer closed")

// cpioWriter writes a newc archive. Parent directories of every entry are
// created (mode 0755) before the entry if they were not written yet, because
// the kernel's unpacker does not create them. Names are stored without a
// leading slash. The first error sticks: later calls return it.
type cpioWriter struct {
	w      io.Writer
	ino    uint32
	seen   map[string]uint32 // name -> mode type, to catch duplicates
	err    error
	closed bool
}

func newCPIOWriter(w io.Writer) *cpioWriter {
	return &cpioWriter{w: w, ino: 1, seen: map[string]uint32{".": modeDir}}
}

// cleanName turns an absolute or relative slash path into the archive form.
func cleanName(name string) (string, error) {
	n := path.Clean("/" + name)
	if n == "/" {
		return "", fmt.Errorf("vm: cpio: invalid entry name %q", name)
	}
	return strings.TrimPrefix(n, "/"), nil
}

func (c *cpioWriter) header(name string, mode uint32, size int, nlink uint32, rmajor, rminor uint32) error {
	if c.closed {
		return errCPIOClosed
	}
	if c.err != nil {
		return c.err
	}
	if uint64(size) > 0xffffffff {
		c.err = fmt.Errorf("vm: cpio: %s: file too large (%d bytes)", name, size)
		return c.err
	}
	ino := c.ino
	c.ino++
	hdr := fmt.Sprintf("%s%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x%08x",
		cpioMagic, ino, mode, 0, 0, nlink, 0, size, 0, 0, rmajor, rminor, len(name)+1, 0)
	buf := make([]byte, 0, cpioHdrLen+len(name)+4)
	buf = append(buf, hdr...)
	buf = append(buf, name...)
	buf = append(buf, 0)
	buf = append(buf, make([]byte, pad4(len(buf)))...)
	if _, err := c.w.Write(buf); err != nil {
		c.err = fmt.Errorf("vm: cpio: write %s: %w", name, err)
	}
	return c.err
}

func pad4(n int) int { return (4 - n%4) % 4 }

// parents writes the missing parent directories of name.
func (c *cpioWriter) parents(name string) error {
	dir := path.Dir(name)
	if dir == "." {
		return nil
	}
	if t, ok := c.seen[dir]; ok {
		if t != modeDir {
			c.err = fmt.Errorf("vm: cpio: %s: parent %s is not a directory", name, dir)
			return c.err
		}
		return nil
	}
	if err := c.parents(dir); err != nil {
		return err
	}
	c.seen[dir] = modeDir
	return c.header(dir, modeDir|0o755, 0, 2, 0, 0)
}

// begin validates name, creates its parents and records it.
func (c *cpioWriter) begin(name string, typ uint32) (string, error) {
	if c.err != nil {
		return "", c.err
	}
	n, err := cleanName(name)
	if err != nil {
		c.err = err
		return "", err
	}
	if t, ok := c.seen[n]; ok {
		if t == modeDir && typ == modeDir {
			return "", nil // directory already present: nothing to write
		}
		c.err = fmt.Errorf("vm: cpio: duplicate entry %s", n)
		return "", c.err
	}
	if err := c.parents(n); err != nil {
		return "", err
	}
	c.seen[n] = typ
	return n, nil
}

// Dir adds a directory (idempotent).
func (c *cpioWriter) Dir(name string, perm fs.FileMode) error {
	n, err := c.begin(name, modeDir)
	if err != nil || n == "" {
		return err
	}
	return c.header(n, modeDir|uint32(perm)&modePerm, 0, 2, 0, 0)
}

// File adds a regular file with the given contents.
func (c *cpioWriter) File(name string, perm fs.FileMode, data []byte) error {
	n, err := c.begin(name, modeReg)
	if err != nil {
		return err
	}
	if err := c.header(n, modeReg|uint32(perm)&modePerm, len(data), 1, 0, 0); err != nil {
		return err
	}
	return c.data(n, data)
}

func (c *cpioWriter) data(name string, data []byte) error {
	if _, err := c.w.Write(data); err != nil {
		c.err = fmt.Errorf("vm: cpio: write %s: %w", name, err)
		return c.err
	}
	if p := pad4(len(data)); p > 0 {
		if _, err := c.w.Write(make([]byte, p)); err != nil {
			c.err = fmt.Errorf("vm: cpio: write %s: %w", name, err)
		}
	}
	return c.err
}

// Symlink adds a symbolic link name pointing at target.
func (c *cpioWriter) Symlink(name, target string) error {
	if target == "" {
		c.err = fmt.Errorf("vm: cpio: symlink %s: empty target", name)
		return c.err
	}
	n, err := c.begin(name, modeLnk)
	if err != nil {
		return err
	}
	if err := c.header(n, modeLnk|0o777, len(target), 1, 0, 0); err != nil {
		return err
	}
	return c.data(n, []byte(target))
}

// CharDev adds a character device node.
func (c *cpioWriter) CharDev(name string, perm fs.FileMode, major, minor uint32) error {
	n, err := c.begin(name, modeChr)
	if err != nil {
		return err
	}
	return c.header(n, modeChr|uint32(perm)&modePerm, 0, 1, major, minor)
}

// Has reports whether name was already written (directories included).
func (c *cpioWriter) Has(name string) bool {
	n, err := cleanName(name)
	if err != nil {
		return false
	}
	_, ok := c.seen[n]
	return ok
}

// Close writes the trailer. It does not close the underlying writer.
func (c *cpioWriter) Close() error {
	if c.closed {
		return c.err
	}
	if c.err != nil {
		c.closed = true
		return c.err
	}
	err := c.header(cpioTrailer, 0, 0, 1, 0, 0)
	c.closed = true
	return err
}
