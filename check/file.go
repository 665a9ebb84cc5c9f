package check

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"syscall"
)

// fileReadLimit is how many bytes of a tracked file are read.
const fileReadLimit = 127

// File is keepalived's FILE_CHECK (and track_file): an external agent writes
// a number into a file, and the number decides the state.
//
// The file's leading integer is read as strtol would (leading white space, an
// optional sign, decimal digits; no digits reads as 0). With Weight zero, 0
// means up and any other value down (Reverse swaps them). With a non-zero
// Weight the check is always up and reports the dynamic weight value*Weight
// (negated with Reverse), clamped to the int32 range. A missing or unreadable
// file means down, and so does a named pipe (reading one could block past
// the deadline).
type File struct {
	// Path is the file to read. Required.
	Path string
	// Weight multiplies the file's value (weight). If zero, the value is a
	// plain up (0) / down (non-zero) flag.
	Weight int
	// Reverse negates the weight, or swaps up and down when Weight is zero.
	Reverse bool
}

// Validate reports an invalid configuration; the error wraps
// [ErrInvalidConfig]. Check reports the same as a ReasonConfig failure.
func (f File) Validate() error { return configError("file", f.validate()) }

func (f File) validate() error {
	if f.Path == "" {
		return fmt.Errorf("empty file path: %w", ErrInvalidConfig)
	}
	return nil
}

// CheckKey returns f itself.
func (f File) CheckKey() any { return f }

// Check reads the file; see CheckWeight.
func (f File) Check(ctx context.Context) error {
	_, _, err := f.CheckWeight(ctx)
	return err
}

// CheckWeight reads the file and maps its value.
func (f File) CheckWeight(ctx context.Context) (weight int, dynamic bool, err error) {
	if err := f.validate(); err != nil {
		return 0, false, fail(ctx, "file", f.Path, ReasonConfig, err)
	}
	// Opening a named pipe without O_NONBLOCK waits for a writer, past
	// any deadline; pipes are refused below.
	fd, err := os.OpenFile(f.Path, os.O_RDONLY|syscall.O_NONBLOCK, 0)
	if err != nil {
		return 0, false, fail(ctx, "file", f.Path, ReasonFile, err)
	}
	defer fd.Close()
	fi, err := fd.Stat()
	if err == nil && fi.Mode()&fs.ModeNamedPipe != 0 {
		err = errors.New("a named pipe, not a file")
	}
	if err != nil {
		return 0, false, fail(ctx, "file", f.Path, ReasonFile, err)
	}
	buf := make([]byte, fileReadLimit)
	n, err := io.ReadFull(fd, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return 0, false, fail(ctx, "file", f.Path, ReasonFile, err)
	}
	return f.eval(ctx, ParseTrackValue(buf[:n]))
}

func (f File) eval(ctx context.Context, v int64) (int, bool, error) {
	if f.Weight == 0 {
		if (v == 0) != f.Reverse {
			return 0, false, nil
		}
		return 0, false, fail(ctx, "file", f.Path, ReasonFile, fmt.Errorf("value %d", v))
	}
	// v is within the int32 range; so, clamped, is the weight, and their
	// product cannot overflow.
	w := v * clampInt32(int64(f.Weight))
	if f.Reverse {
		w = -w
	}
	return int(clampInt32(w)), true, nil
}

func clampInt32(v int64) int64 { return max(min(v, math.MaxInt32), math.MinInt32) }

// ParseTrackValue returns the leading decimal integer of b as C's strtol
// would: leading white space and an optional sign, then digits up to the
// first non-digit. Input without digits reads as 0. The result is clamped to
// the int32 range. It never panics.
func ParseTrackValue(b []byte) int64 {
	i := 0
	for i < len(b) && (b[i] == ' ' || (b[i] >= '\t' && b[i] <= '\r')) {
		i++
	}
	neg := false
	if i < len(b) && (b[i] == '+' || b[i] == '-') {
		neg = b[i] == '-'
		i++
	}
	var v int64
	for ; i < len(b) && isDigit(b[i]); i++ {
		if v < math.MaxInt32+1 {
			v = v*10 + int64(b[i]-'0')
		}
	}
	if neg {
		v = -v
	}
	return clampInt32(v)
}
