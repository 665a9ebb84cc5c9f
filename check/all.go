package check

import "context"

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
