package vm

import (
	"bytes"
	"compress/gzip"
	"context"
	"debug/elf"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// Booting the uncompressed ELF kernel through its PVH entry point (qemu
// -kernel vmlinux) skips the firmware's real-mode setup and the kernel's
// self-decompression, which under TCG emulation takes several seconds (the
// Debian kernel is xz-compressed). The ELF is extracted once, when the
// kernel is prepared.

// bzPayload returns the compressed kernel inside a bzImage, located with the
// x86 boot protocol header (Documentation/arch/x86/boot.rst): setup_sects at
// 0x1f1, "HdrS" at 0x202, payload_offset and payload_length at 0x248 and
// 0x24c (protocol 2.08+), the offset counted from the end of the setup code.
func bzPayload(img []byte) ([]byte, error) {
	if len(img) < 0x250 || string(img[0x202:0x206]) != "HdrS" {
		return nil, errors.New("vm: vmlinuz: not a bzImage")
	}
	if v := binary.LittleEndian.Uint16(img[0x206:]); v < 0x208 {
		return nil, fmt.Errorf("vm: vmlinuz: boot protocol %#x too old", v)
	}
	setup := int(img[0x1f1])
	if setup == 0 {
		setup = 4
	}
	off := (setup+1)*512 + int(binary.LittleEndian.Uint32(img[0x248:]))
	n := int(binary.LittleEndian.Uint32(img[0x24c:]))
	if off < 0 || n <= 0 || off+n > len(img) || off+n < off {
		return nil, errors.New("vm: vmlinuz: payload outside the image")
	}
	return img[off : off+n], nil
}

// decompress decompresses a kernel payload: gzip in Go, xz and zstd with
// the system tools.
func decompress(ctx context.Context, payload []byte, w io.Writer) error {
	var tool []string
	switch {
	case bytes.HasPrefix(payload, []byte{0x1f, 0x8b}):
		zr, err := gzip.NewReader(bytes.NewReader(payload))
		if err != nil {
			return fmt.Errorf("vm: vmlinuz: %w", err)
		}
		zr.Multistream(false)
		if _, err := io.Copy(w, zr); err != nil {
			return fmt.Errorf("vm: vmlinuz: %w", err)
		}
		return nil
	case bytes.HasPrefix(payload, []byte("\xfd7zXZ\x00")):
		tool = []string{"xz", "-dc", "--single-stream"}
	case bytes.HasPrefix(payload, []byte{0x28, 0xb5, 0x2f, 0xfd}):
		tool = []string{"zstd", "-dc"}
	default:
		return errors.New("vm: vmlinuz: unsupported kernel compression")
	}
	p, err := lookTool(tool[0])
	if err != nil {
		return fmt.Errorf("vm: vmlinuz: %w", err)
	}
	cmd := exec.CommandContext(ctx, p, tool[1:]...)
	cmd.Stdin = bytes.NewReader(payload)
	cmd.Stdout = w
	var stderr bytes.Buffer
	cmd.Stderr = &limitedBuffer{buf: &stderr, max: 4096}
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("vm: vmlinuz: %s: %w: %s", tool[0], err, bytes.TrimSpace(stderr.Bytes()))
	}
	return nil
}

// xenElfnotePhys32Entry is XEN_ELFNOTE_PHYS32_ENTRY, the note that marks a
// PVH entry point (the kernel needs CONFIG_PVH).
const xenElfnotePhys32Entry = 18

// hasPVHNote reports whether the ELF kernel at path has a PVH entry note.
func hasPVHNote(path string) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type != elf.PT_NOTE {
			continue
		}
		data, err := io.ReadAll(io.LimitReader(p.Open(), 1<<20))
		if err != nil {
			return false, err
		}
		if findNote(data, f.ByteOrder, "Xen", xenElfnotePhys32Entry) {
			return true, nil
		}
	}
	return false, nil
}

// findNote walks ELF notes (namesz, descsz, type, name, desc; 4-aligned).
func findNote(data []byte, bo binary.ByteOrder, name string, typ uint32) bool {
	align := func(n uint32) uint64 { return (uint64(n) + 3) &^ 3 }
	for len(data) >= 12 {
		namesz, descsz, t := bo.Uint32(data), bo.Uint32(data[4:]), bo.Uint32(data[8:])
		rest := data[12:]
		nlen, dlen := align(namesz), align(descsz)
		if nlen > uint64(len(rest)) || dlen > uint64(len(rest))-nlen {
			return false
		}
		n := string(bytes.TrimRight(rest[:namesz], "\x00"))
		if n == name && t == typ {
			return true
		}
		data = rest[nlen+dlen:]
	}
	return false
}

// vmlinuxPath is where the extracted ELF kernel lives.
func (k *Kernel) vmlinuxPath() string {
	return filepath.Join(k.Root, "boot", "vmlinux-"+k.Release)
}

// extractVmlinux writes the ELF kernel next to the bzImage if it is not
// there yet, and checks that it can be booted with PVH. Callers hold the
// cache lock.
func extractVmlinux(ctx context.Context, k *Kernel) error {
	dst := k.vmlinuxPath()
	if _, err := os.Stat(dst); err == nil {
		return nil
	}
	removeLeftovers(filepath.Join(filepath.Dir(dst), "vmlinux.tmp-*"))
	img, err := os.ReadFile(k.Vmlinuz)
	if err != nil {
		return fmt.Errorf("vm: %w", err)
	}
	payload, err := bzPayload(img)
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dst), "vmlinux.tmp-")
	if err != nil {
		return fmt.Errorf("vm: %w", err)
	}
	defer os.Remove(tmp.Name())
	err = decompress(ctx, payload, tmp)
	if cerr := tmp.Close(); err == nil && cerr != nil {
		err = fmt.Errorf("vm: %w", cerr)
	}
	if err != nil {
		return err
	}
	ok, err := hasPVHNote(tmp.Name())
	if err != nil {
		return fmt.Errorf("vm: vmlinux: %w", err)
	}
	if !ok {
		return errors.New("vm: vmlinux has no PVH entry note (kernel built without CONFIG_PVH)")
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return fmt.Errorf("vm: %w", err)
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return fmt.Errorf("vm: %w", err)
	}
	return nil
}
