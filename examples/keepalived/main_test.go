package main

import (
	"testing"

	"github.com/nux-root/keepalived-go/internal/testutil"
)

func TestMain(m *testing.M) { testutil.VerifyNoLeaks(m) }
