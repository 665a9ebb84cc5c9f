package vm

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"testing"
)

// fakeBzImage builds the header fields bzPayload reads around payload.
func fakeBzImage(payload []byte, setupSects byte, proto uint16) []byte {
	const payloadOffset = 100
	img := make([]byte, (int(setupSects)+1)*512+payloadOffset)
	img[0x1f1] = setupSects
	copy(img[0x202:], "HdrS")
	binary.LittleEndian.PutUint16(img[0x206:], proto)
	binary.LittleEndian.PutUint32(img[0x248:], payloadOffset)
	binary.LittleEndian.PutUint32(img[0x24c:], uint32(len(payload)))
	img = append(img, payload...)
	return append(img, "trailer"...)
}

func TestBzPayload(t *testing.T) {
	payload := []byte("\xfd7zXZ\x00compressed kernel")
	got, err := bzPayload(fakeBzImage(payload, 39, 0x20f))
	if err != nil || !bytes.Equal(got, payload) {
		t.Errorf("bzPayload = %q, %v; want %q", got, err, payload)
	}
	bad := [][]byte{
		nil,
		make([]byte, 0x300),                      // no HdrS
		fakeBzImage(payload, 39, 0x206),          // protocol too old
		fakeBzImage(payload, 39, 0x20f)[:0x1000], // truncated
	}
	for i, img := range bad {
		if _, err := bzPayload(img); err == nil {
			t.Errorf("bad image %d accepted", i)
		}
	}
}

func FuzzBzPayload(f *testing.F) {
	f.Add(fakeBzImage([]byte("x"), 1, 0x20f))
	f.Add(make([]byte, 0x250))
	f.Fuzz(func(t *testing.T, img []byte) {
		if p, err := bzPayload(img); err == nil && len(p) > len(img) {
			t.Errorf("payload longer than image")
		}
	})
}

func TestDecompressGzip(t *testing.T) {
	var z bytes.Buffer
	zw := gzip.NewWriter(&z)
	_, _ = zw.Write([]byte("\x7fELF kernel"))
	_ = zw.Close()
	z.WriteString("appended garbage after the stream")
	var out bytes.Buffer
	if err := decompress(context.Background(), z.Bytes(), &out); err != nil || out.String() != "\x7fELF kernel" {
		t.Errorf("decompress = %q, %v", out.String(), err)
	}
	if err := decompress(context.Background(), []byte("BZh9"), &out); err == nil {
		t.Error("unknown compression accepted")
	}
}

func TestFindNote(t *testing.T) {
	note := func(name string, typ uint32, desc []byte) []byte {
		var b bytes.Buffer
		n := append([]byte(name), 0)
		_ = binary.Write(&b, binary.LittleEndian, [3]uint32{uint32(len(n)), uint32(len(desc)), typ})
		b.Write(n)
		b.Write(make([]byte, (4-len(n)%4)%4))
		b.Write(desc)
		b.Write(make([]byte, (4-len(desc)%4)%4))
		return b.Bytes()
	}
	data := append(note("GNU", 3, []byte("buildid-bytes")), note("Xen", 6, []byte("linux"))...)
	if findNote(data, binary.LittleEndian, "Xen", xenElfnotePhys32Entry) {
		t.Error("found a PVH note that is not there")
	}
	data = append(data, note("Xen", xenElfnotePhys32Entry, []byte{0, 0, 0, 1})...)
	if !findNote(data, binary.LittleEndian, "Xen", xenElfnotePhys32Entry) {
		t.Error("PVH note not found")
	}
	if findNote(data[:len(data)-3], binary.LittleEndian, "Xen", xenElfnotePhys32Entry) {
		t.Error("truncated note accepted")
	}
}
