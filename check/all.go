package check

import (
	"context"
	"errors"
	"fmt"
)

// All is a Checker that passes when every member passes, as keepalived's
// HTTP_GET with several url blocks does. Members run in order and the first
// failure is returned; the context's deadline bounds them all.
type All []Checker

// Check runs the members in order.
func (a All) Check(ctx context.Context) error {
	for _, c := range a {
		if err := c.Check(ctx); err != nil {
			return err
		}
	}
	return nil
}

// maxAllKey is the largest All that has a check key.
const maxAllKey = 8

type allKey struct {
	n    int
	keys [maxAllKey]any
}

// CheckKey returns a comparable key when All has at most 8 members that are
// all Keyers, and nil (never shared) otherwise.
func (a All) CheckKey() any {
	if len(a) > maxAllKey {
		return nil
	}
	k := allKey{n: len(a)}
	for i, c := range a {
		kc, ok := c.(Keyer)
		if !ok {
			return nil
		}
		if k.keys[i] = kc.CheckKey(); k.keys[i] == nil {
			return nil
		}
	}
	return k
}

// Validate returns the configuration errors of c (wrapping
// [ErrInvalidConfig]): those of its Validate method if it has one, and for
// an All, those of every member. A caller building checkers from a
// configuration calls it to reject a bad one at load time; a Monitor runs
// an invalid checker anyway, and it fails every check with ReasonConfig,
// so the target is never reported up.
func Validate(c Checker) error {
	switch v := c.(type) {
	case nil:
		return fmt.Errorf("check: nil checker: %w", ErrInvalidConfig)
	case All:
		var errs []error
		for _, m := range v {
			if err := Validate(m); err != nil {
				errs = append(errs, err)
			}
		}
		return errors.Join(errs...)
	case interface{ Validate() error }:
		return v.Validate()
	}
	return nil
}
