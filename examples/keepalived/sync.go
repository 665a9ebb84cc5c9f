package main

// prune removes every item of installed that is not in want: remove is
// called for it (its result is the caller's to log) and it is forgotten.
func prune[T comparable](installed map[T]bool, want []T, remove func(T)) {
	keep := make(map[T]bool, len(want))
	for _, x := range want {
		keep[x] = true
	}
	for x := range installed {
		if !keep[x] {
			remove(x)
			delete(installed, x)
		}
	}
}

// install adds, in order, every item of want that is not yet in installed;
// an item is recorded as installed when add succeeds.
func install[T comparable](installed map[T]bool, want []T, add func(T) error) {
	for _, x := range want {
		if installed[x] {
			continue
		}
		if add(x) == nil {
			installed[x] = true
		}
	}
}
