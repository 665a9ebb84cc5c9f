package config

// Script returns the vrrp_script with the given name.
func (c *Config) Script(name string) (*Script, bool) {
	return find(c.Scripts, name, func(s *Script) string { return s.Name })
}

// TrackFile returns the track_file with the given name.
func (c *Config) TrackFile(name string) (*TrackFile, bool) {
	return find(c.TrackFiles, name, func(f *TrackFile) string { return f.Name })
}

// TrackProcess returns the track_process with the given name.
func (c *Config) TrackProcess(name string) (*TrackProcess, bool) {
	return find(c.TrackProcesses, name, func(p *TrackProcess) string { return p.Name })
}

// BFDInstance returns the bfd_instance with the given name.
func (c *Config) BFDInstance(name string) (*BFDInstance, bool) {
	return find(c.BFDInstances, name, func(b *BFDInstance) string { return b.Name })
}

// Instance returns the vrrp_instance with the given name.
func (c *Config) Instance(name string) (*Instance, bool) {
	return find(c.Instances, name, func(i *Instance) string { return i.Name })
}

// SyncGroupOf returns the sync group that the named instance belongs to.
func (c *Config) SyncGroupOf(instance string) (*SyncGroup, bool) {
	for i := range c.SyncGroups {
		for _, m := range c.SyncGroups[i].Group {
			if m == instance {
				return &c.SyncGroups[i], true
			}
		}
	}
	return nil, false
}

// VirtualServerGroup returns the virtual_server_group with the given name.
func (c *Config) VirtualServerGroup(name string) (*VirtualServerGroup, bool) {
	return find(c.VirtualServerGroups, name, func(g *VirtualServerGroup) string { return g.Name })
}

func find[T any](s []T, name string, key func(*T) string) (*T, bool) {
	for i := range s {
		if key(&s[i]) == name {
			return &s[i], true
		}
	}
	return nil, false
}

// IPv6 reports whether the instance runs over IPv6 (its VIPs, or its
// source address when it has no VIPs, are IPv6).
func (i *Instance) IPv6() bool { return i.family6() }
