// Package ipvsmoby adapts a github.com/moby/ipvs handle to [ipvs.Kernel],
// for programs that already hold one.
//
// It is a package of its own so that importing package ipvs does not pull
// in moby/ipvs and, through it, logrus. Package ipvs's own [ipvs.Netlink]
// is the default kernel; the ipvs package documentation explains what moby
// cannot do ("Why not github.com/moby/ipvs").
//
// # Concurrency
//
// A [Kernel] is safe for concurrent use as far as the moby handle is; the
// extra netlink socket serializes its own calls. It has no callbacks.
//
// The package builds only on Linux, like moby/ipvs.
package ipvsmoby
