//go:build !linux

package check

import "context"

func runScript(ctx context.Context, s *Script) (int, bool, error) {
	return 0, false, fail(ctx, "script", s.Path, ReasonConfig, ErrNotSupported)
}
