package config

import (
	"fmt"
	"testing"
)

func TestTestStatus(t *testing.T) {
	problem := Warning{Pos: Pos{File: "f", Line: 1, Col: 1}, Msg: "unknown keyword 'x'"}
	noEffect := Warning{Pos: Pos{File: "f", Line: 2, Col: 1}, Msg: "x: accepted, has no effect in keepalived-go", Kind: WarningNoEffect}
	tests := []struct {
		name  string
		warns []Warning
		err   error
		want  int
	}{
		{"clean", nil, nil, ExitOK},
		{"no-effect warnings only", []Warning{noEffect, noEffect}, nil, ExitOK},
		{"a problem", []Warning{noEffect, problem}, nil, ExitConfigProblems},
		{"an error", []Warning{problem}, ErrorList{{Pos: problem.Pos, Msg: "x"}}, ExitRefused},
		{"read error", nil, fmt.Errorf("%w x: gone", ErrRead), ExitRefused},
		{"empty error list", []Warning{noEffect}, ErrorList{}, ExitOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := TestStatus(tt.warns, tt.err); got != tt.want {
				t.Errorf("TestStatus = %d, want %d", got, tt.want)
			}
		})
	}
}
