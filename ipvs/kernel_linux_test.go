package ipvs

import (
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/sys/unix"
)

func nlmsg(typ, flags uint16, seq uint32, payload []byte) []byte {
	b := ne.AppendUint32(nil, uint32(nlmsgHdrLen+len(payload)))
	b = ne.AppendUint16(b, typ)
	b = ne.AppendUint16(b, flags)
	b = ne.AppendUint32(b, seq)
	b = ne.AppendUint32(b, 0)
	b = append(b, payload...)
	for len(b)%4 != 0 {
		b = append(b, 0)
	}
	return b
}

func TestParseReplies(t *testing.T) {
	errno := func(e int32) []byte { return ne.AppendUint32(nil, uint32(e)) }
	tests := []struct {
		name     string
		in       []byte
		wantOut  [][]byte
		wantDone bool
		wantErr  error
	}{
		{name: "ack", in: nlmsg(unix.NLMSG_ERROR, 0, 7, errno(0)), wantDone: true},
		{name: "errno", in: nlmsg(unix.NLMSG_ERROR, 0, 7, errno(-int32(unix.ESRCH))), wantErr: unix.ESRCH},
		{name: "stale answer skipped", in: append(nlmsg(unix.NLMSG_ERROR, 0, 6, errno(-1)), nlmsg(unix.NLMSG_ERROR, 0, 7, errno(0))...), wantDone: true},
		{name: "dump", in: append(append(nlmsg(20, unix.NLM_F_MULTI, 7, []byte{1, 2, 3}), nlmsg(20, unix.NLM_F_MULTI, 7, []byte{4})...),
			nlmsg(unix.NLMSG_DONE, unix.NLM_F_MULTI, 7, errno(0))...), wantOut: [][]byte{{1, 2, 3}, {4}}, wantDone: true},
		{name: "partial dump", in: nlmsg(20, unix.NLM_F_MULTI, 7, []byte{9}), wantOut: [][]byte{{9}}},
		{name: "bad length", in: []byte{200, 0, 0, 0, 1, 0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0}, wantErr: errMalformed},
		{name: "short error", in: nlmsg(unix.NLMSG_ERROR, 0, 7, []byte{1}), wantErr: errMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out [][]byte
			done, err := parseReplies(tt.in, 7, func(p []byte) error {
				out = append(out, append([]byte(nil), p...))
				return nil
			})
			if !errors.Is(err, tt.wantErr) || (err == nil) != (tt.wantErr == nil) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			if done != tt.wantDone {
				t.Errorf("done = %v, want %v", done, tt.wantDone)
			}
			if diff := cmp.Diff(tt.wantOut, out); diff != "" {
				t.Errorf("payloads (-want +got):\n%s", diff)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	tests := []struct {
		in   error
		want error
	}{
		{unix.EEXIST, ErrExist},
		{unix.ESRCH, ErrNoService},
		{unix.ENOENT, ErrNoDestination},
		{unix.ERANGE, ErrInvalid},
		{unix.EAFNOSUPPORT, ErrInvalid},
	}
	for _, tt := range tests {
		got := classify(tt.in, ErrNoDestination, ErrNoService)
		if !errors.Is(got, tt.want) || !errors.Is(got, tt.in) {
			t.Errorf("classify(%v) = %v, want it to match %v and the errno", tt.in, got, tt.want)
		}
	}
	if got := classify(unix.EPERM, ErrNoModule, ErrNoService); got != unix.EPERM {
		t.Errorf("classify(EPERM) = %#v, want EPERM unchanged", got)
	}
	other := errors.New("x")
	if classify(other, nil, nil) != other {
		t.Error("non-errno changed")
	}
}
