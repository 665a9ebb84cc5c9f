// Package ipvs manages the Linux IP Virtual Server as desired state,
// reconciled against the kernel over generic netlink with minimal operations.
package ipvs
