package bfd_test

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/nux-root/keepalived-go/bfd"
	"github.com/nux-root/keepalived-go/bfd/bfdtest"
)

// The suite's conventions: ErrClosed is net.ErrClosed, ErrNotSupported
// matches errors.ErrUnsupported, and every error a caller sees starts with
// "bfd: " exactly once (each line of a joined error).
func TestErrorConventions(t *testing.T) {
	if bfd.ErrClosed != net.ErrClosed {
		t.Error("ErrClosed is not net.ErrClosed")
	}
	if !errors.Is(bfd.ErrNotSupported, errors.ErrUnsupported) {
		t.Error("ErrNotSupported does not match errors.ErrUnsupported")
	}
	local, peer := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2")
	tr, err := bfdtest.NewNetwork().Listen(local)
	if err != nil {
		t.Fatal(err)
	}
	m, err := bfd.NewMux(bfd.MuxConfig{}, tr)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	var errs []error
	add := func(sc bfd.SessionConfig) {
		_, err := m.Add(context.Background(), sc)
		errs = append(errs, err)
	}
	good := bfd.SessionConfig{Peer: peer, Local: local, Config: bfd.Config{LocalDiscriminator: 7}}
	add(good)
	if errs[0] != nil {
		t.Fatalf("Add: %v", errs[0])
	}
	add(good) // duplicate peer
	add(bfd.SessionConfig{Peer: netip.MustParseAddr("192.0.2.3"), Config: bfd.Config{LocalDiscriminator: 7}})
	add(bfd.SessionConfig{})
	add(bfd.SessionConfig{Peer: netip.MustParseAddr("2001:db8::2"), Local: local})
	add(bfd.SessionConfig{Peer: netip.MustParseAddr("192.0.2.4"), Config: bfd.Config{
		DesiredMinTxInterval: -time.Second, RequiredMinRxInterval: -time.Second}})
	errs = append(errs, m.Remove(context.Background(), 99))
	errs = append(errs, m.Inject(context.Background(), 7, bfd.Event{Kind: bfd.EventPacket}))
	_, err = bfd.NewMux(bfd.MuxConfig{}, nil)
	errs = append(errs, err)
	errs = append(errs, m.Run(context.Background())) // already running
	var p bfd.ControlPacket
	errs = append(errs, p.UnmarshalBinary([]byte{0x20, 0x40}))
	_, err = (&bfd.ControlPacket{DetectMult: 0}).MarshalBinary()
	errs = append(errs, err)
	errs = append(errs, bfd.Verify(make([]byte, 24), []byte("k")))
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	_, err = m.Add(context.Background(), good)
	if !errors.Is(err, bfd.ErrClosed) {
		t.Errorf("Add after Run = %v, want ErrClosed", err)
	}
	errs = append(errs, err)
	for i, err := range errs[1:] {
		if err == nil {
			t.Errorf("error path %d did not fail", i+1)
			continue
		}
		t.Logf("error %d: %v", i+1, err)
		for _, line := range strings.Split(err.Error(), "\n") {
			if !strings.HasPrefix(line, "bfd: ") || strings.Count(line, "bfd: ") != 1 {
				t.Errorf("error %d: %q: want the prefix \"bfd: \" exactly once", i+1, line)
			}
		}
	}
}
