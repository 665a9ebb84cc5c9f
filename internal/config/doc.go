// Package config reads keepalived.conf, the configuration language of
// keepalived, into a typed [Config] built from standard library types
// (netip.Addr, netip.Prefix, time.Duration). It does not depend on the
// protocol packages: the daemon maps a Config onto vrrp, vip, check, ipvs
// and bfd.
//
// # Quick start
//
//	cfg, warnings, err := config.ParseFile("/etc/keepalived/keepalived.conf", config.Options{})
//	for _, w := range warnings {
//		logger.Warn("keepalived.conf", "msg", w.String()) // file:line:col: message
//	}
//	if err != nil { ... } // an ErrorList of *Error, each with a Pos
//	for _, vi := range cfg.Instances { ... }
//
// # Language
//
// The reader implements the language described in keepalived.conf(5):
// blocks and nesting, with braces on the keyword's line or on their own;
// '#' and '!' comments anywhere outside quotes; quoted strings (" or ')
// with shell-like escapes (\n, \t, \xHH, \NNN, \cC, ...); include and its
// strict variants includer, includem, includew, includeb, includea (and
// include_check) with globs and csh brace expansion, relative to the
// including file; '@id' and '@^id' conditional lines against
// [Options].ConfigID (default: the short host name); '$NAME=value'
// definitions, substituted as $NAME (before white space) or ${NAME},
// recursively and late bound, including multi-line definitions (lines
// ending in '\', ended by the first line without one or by an empty line);
// the predefined ${_PWD} (the directory of the current file, as named: it
// is absolute when the main file's path is), ${_INSTANCE} (the config id),
// ${_RANDOM [MIN [MAX]]} (from [Options].Random), ${_HASH}, ${_BANG} and
// ${_ENV NAME} (from [Options].Env only, never the process environment);
// and ~SEQ(var,
// start, step, end), ~SEQx(...) and ~LST(var, v1, v2, ...) or
// ~LST({a, b}, {1, 2}, ...) replication.
//
// # Values, defaults and validation
//
// Booleans are on|off|true|false|yes|no, a keyword alone meaning true.
// Timers are decimal seconds with microsecond resolution. Deprecated
// synonyms are accepted: lb_algo (lvs_sched), lb_kind (lvs_method),
// nb_get_retry (retry), vrrp_track_file, vrrp_track_process, mcast_src_ip
// (unicast_src_ip), neighbour_ip, gw and "or" in routes, and
// lvs_sync_daemon_interface in a vrrp_instance (moved to global
// lvs_sync_daemon). Defaults are applied and inherited as keepalived does
// (global_defs to vrrp_instance; virtual server to real server to checker),
// so the daemon reads final values. Validation follows keepalived: values
// out of range are ignored with a warning, conflicting settings are
// resolved with a warning (nopreempt with state MASTER, AH with state
// MASTER, vrrp_strict / strict_mode rules, address families of VIPs, peers
// and real servers), references are checked (track_script, track_file,
// track_process, track_bfd, sync group members, virtual_server group,
// FILE_CHECK and BFD_CHECK, which like keepalived must name an object
// defined earlier in the file), and instances without a virtual_router_id
// or virtual servers without real servers are dropped.
//
// # Warnings and errors
//
// Every [Warning] and [Error] carries a [Pos] (file, line, column) and says
// what was expected. Unknown keywords produce a warning and are skipped
// (with their block, if any); with [Options].Strict every warning becomes
// an error. Missing names of blocks, unreadable files under the strict
// include variants, include loops and runaway definitions are errors.
// Warnings are sorted by file (in reading order), line and column. No
// input makes the reader panic (see FuzzParse).
//
// # Structural problems
//
// A file whose shape is damaged (cut by an editor crash, a brace lost in a
// copy) reads as something other than what its author wrote, and applying
// it would drop or change objects silently. Such problems are always errors,
// with or without Strict, whatever keepalived does with them: an unclosed
// block, an unterminated quote, a '}' with no open block or a '{' with no
// keyword, a keyword that takes a block without one, and an object dropped
// because of a parse problem (a named block without its name; a
// vrrp_instance without virtual_router_id or defined twice; a
// virtual_server or real_server whose address cannot be read). Each is an [*Error] with its
// [Problem] kind set; it wraps [ErrStructure], and [Problems] returns them
// all from the error of [Parse], so a daemon that reloads refuses such a
// file as a whole. Unknown keywords and bad values stay warnings.
//
// # Printing
//
// [Format] and [Print] write a Config back as canonical keepalived.conf
// text with every value explicit; parsing that text gives an equal Config
// (positions aside). Keywords known to keepalived but not interpreted here
// are kept in the Other fields and printed back verbatim.
//
// # Differences from keepalived
//
// An unknown keyword followed by a block skips the whole block (keepalived
// 2.2 reports every line of it and may close the enclosing block early).
// vrrp_garp_interval 0 and vrrp_gna_interval 0 are accepted (keepalived
// 2.2.7 rejects 0, later documentation gives 0 as the default). Interface
// existence and other host checks are left to the daemon. Tracking weights
// of sync group members are kept as written: keepalived ignores them at
// run time unless sync_group_tracking_weight is set.
package config
