// Package config reads keepalived.conf, the configuration language of
// keepalived, into a typed [Config] built from standard library types
// (netip.Addr, netip.Prefix, time.Duration).
//
// The reader implements the whole language as described in keepalived.conf(5):
// blocks and nesting, '#' and '!' comments, quoted strings with escapes,
// include (and the strict variants includer, includem, includew, includeb,
// includea) with globs and brace expansion relative to the including file,
// '@id' and '@^id' conditional lines, '$NAME=value' definitions with late
// bound recursive substitution and multi-line definitions, the predefined
// ${_PWD}, ${_INSTANCE}, ${_RANDOM}, ${_HASH}, ${_BANG} and ${_ENV NAME}, and
// ~SEQ, ~SEQx and ~LST replication.
//
// Like keepalived, the reader is forgiving: an unknown keyword or an invalid
// value produces a [Warning] (with file:line:column) and is skipped, and
// defaults are applied as keepalived applies them. With [Options].Strict every
// warning is an error instead.
//
// [Print] writes a Config back as canonical keepalived.conf text; parsing that
// text gives the same Config.
package config
