package config

import "reflect"

var posType = reflect.TypeFor[Pos]()

// Equal reports whether a and b hold the same configuration, ignoring
// where it was written: every Pos, at any depth, is skipped, so an object
// moved in the file, or a comment added above it, is equal to the object
// before. It is meant for reloads (is this instance, sync group, virtual
// server or whole Config unchanged?) and takes any value built from this
// package's types: Config, Instance, SyncGroup, VirtualServer, []Track, and
// so on.
//
// Nil and empty slices and maps are equal (a Config printed with Format
// and parsed again is Equal to the original); pointers are equal when both
// are nil or they point to equal values; netip values compare with ==.
func Equal[T any](a, b T) bool {
	return equalValue(reflect.ValueOf(&a).Elem(), reflect.ValueOf(&b).Elem())
}

func equalValue(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Struct:
		if a.Type() == posType {
			return true
		}
		if a.Type().PkgPath() != "github.com/nux-root/keepalived-go/internal/config" && a.Comparable() {
			// standard library values (netip.Addr, netip.Prefix, time.Time):
			// their own ==, never a walk through their internals
			return a.Equal(b)
		}
		for i := range a.NumField() {
			if !equalValue(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	case reflect.Slice, reflect.Array:
		if a.Len() != b.Len() {
			return false
		}
		for i := range a.Len() {
			if !equalValue(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Map:
		if a.Len() != b.Len() {
			return false
		}
		for it := a.MapRange(); it.Next(); {
			bv := b.MapIndex(it.Key())
			if !bv.IsValid() || !equalValue(it.Value(), bv) {
				return false
			}
		}
		return true
	case reflect.Pointer, reflect.Interface:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		if a.Kind() == reflect.Interface && a.Elem().Type() != b.Elem().Type() {
			return false
		}
		return equalValue(a.Elem(), b.Elem())
	case reflect.Func, reflect.Chan, reflect.UnsafePointer:
		// not in a Config; only the absence of a value is comparable
		return a.IsNil() && b.IsNil()
	default:
		return a.Equal(b)
	}
}
