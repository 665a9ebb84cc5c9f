package vm

import (
	"bufio"
	"bytes"
	"fmt"
	"path"
	"slices"
	"strings"
)

// DefaultModules returns the kernel modules put into the VM and loaded at boot,
// dependencies first. crc32c_generic comes first because libcrc32c only
// names it as a soft dependency ("softdep pre: crc32c") that nothing else
// resolves; without it nf_conntrack and ip_vs fail with "Unknown symbol
// crc32c" (LAB.md §3). Then ip_vs and every scheduler, the FTP and SIP
// helpers (which pull nf_nat and nf_conntrack_sip); dummy, veth and macvlan
// for tests that need interfaces; the ipip, GRE and FOU (GUE) tunnels for
// IPVS tunnel forwarding; and sch_netem, which the host kernel lacks, for
// delay and loss injection.
func DefaultModules() []string { return slices.Clone(defaultModules) }

var defaultModules = []string{
	"crc32c_generic",
	"ip_vs",
	"ip_vs_rr", "ip_vs_wrr", "ip_vs_lc", "ip_vs_wlc", "ip_vs_lblc", "ip_vs_lblcr",
	"ip_vs_dh", "ip_vs_sh", "ip_vs_sed", "ip_vs_nq", "ip_vs_fo", "ip_vs_ovf", "ip_vs_mh",
	"ip_vs_ftp", "ip_vs_pe_sip",
	"dummy", "veth", "macvlan",
	"ipip", "ip_gre", "fou", "ip6_tunnel",
	"sch_netem",
}

// moduleName returns the kernel's name for a module file path: the base name
// without ".ko" (and a compression suffix), with '-' replaced by '_'.
func moduleName(p string) string {
	b := path.Base(p)
	for _, s := range []string{".xz", ".zst", ".gz"} {
		b = strings.TrimSuffix(b, s)
	}
	b = strings.TrimSuffix(b, ".ko")
	return strings.ReplaceAll(b, "-", "_")
}

// modDep is a parsed modules.dep: module name -> file path (relative to the
// modules directory) and the paths of its dependencies.
type modDep struct {
	path map[string]string
	deps map[string][]string
}

// parseModulesDep parses depmod's modules.dep ("path: dep dep ...").
func parseModulesDep(data []byte) (*modDep, error) {
	md := &modDep{path: map[string]string{}, deps: map[string][]string{}}
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		file, rest, ok := strings.Cut(line, ":")
		file = strings.TrimSpace(file)
		if !ok || file == "" {
			return nil, fmt.Errorf("vm: modules.dep line %d: missing ':'", n)
		}
		name := moduleName(file)
		md.path[name] = file
		md.deps[name] = strings.Fields(rest)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("vm: modules.dep: %w", err)
	}
	return md, nil
}

// parseBuiltin parses modules.builtin (one path per line) into a name set.
func parseBuiltin(data []byte) map[string]bool {
	set := map[string]bool{}
	for line := range strings.SplitSeq(string(data), "\n") {
		if line = strings.TrimSpace(line); line != "" {
			set[moduleName(line)] = true
		}
	}
	return set
}

// order returns the module file paths to load for roots, each after its
// dependencies, in root order, without duplicates. Roots built into the
// kernel are skipped; unknown roots are an error.
func (md *modDep) order(roots []string, builtin map[string]bool) ([]string, error) {
	var out []string
	done := map[string]bool{}
	onStack := map[string]bool{}
	var visit func(name string, depth int) error
	visit = func(name string, depth int) error {
		if done[name] {
			return nil
		}
		if onStack[name] || depth > 64 {
			return fmt.Errorf("vm: module dependency cycle at %s", name)
		}
		file, ok := md.path[name]
		if !ok {
			return fmt.Errorf("vm: module %s not found in modules.dep", name)
		}
		onStack[name] = true
		for _, d := range md.deps[name] {
			if err := visit(moduleName(d), depth+1); err != nil {
				return err
			}
		}
		onStack[name] = false
		done[name] = true
		out = append(out, file)
		return nil
	}
	for _, r := range roots {
		r = strings.ReplaceAll(r, "-", "_")
		if _, ok := md.path[r]; !ok && builtin[r] {
			continue
		}
		if err := visit(r, 0); err != nil {
			return nil, err
		}
	}
	return out, nil
}
