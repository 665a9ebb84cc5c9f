package config

import (
	"net/netip"
	"time"
)

// Config is a parsed keepalived.conf.
type Config struct {
	Global              Global
	StaticAddresses     []Address
	StaticRoutes        []Route
	StaticRules         []Rule
	Scripts             []Script
	TrackFiles          []TrackFile
	TrackProcesses      []TrackProcess
	BFDInstances        []BFDInstance
	SyncGroups          []SyncGroup
	Instances           []Instance
	VirtualServerGroups []VirtualServerGroup
	VirtualServers      []VirtualServer
	SSL                 *SSL
	GarpGroups          []GarpGroup
	TrackGroups         []TrackGroup
	LinkbeatInterfaces  []LinkbeatInterface
	InterfaceDelays     []InterfaceDelay
}

// Directive is a keyword that keepalived knows but this package does not
// interpret, kept verbatim so that it can be printed back.
type Directive struct {
	Keyword string
	Args    []string
}

// Notify is a script to run, with optional user and group.
type Notify struct {
	Script string
	User   string
	Group  string
}

// IsZero reports whether no script is set.
func (n Notify) IsZero() bool { return n.Script == "" }

// Global is the global_defs block. Durations and counts hold keepalived's
// defaults when not set.
type Global struct {
	RouterID                    string
	NotificationEmail           []string
	NotificationEmailFrom       string
	SMTPServer                  string // host or address
	SMTPPort                    uint16 // default 25
	SMTPHeloName                string
	SMTPConnectTimeout          time.Duration // default 30s
	SMTPAlert                   *bool
	SMTPAlertVRRP               *bool
	SMTPAlertChecker            *bool
	NoEmailFaults               bool
	DefaultInterface            string
	VRRPMcastGroup4             netip.Addr // default 224.0.0.18
	VRRPMcastGroup6             netip.Addr // default ff02::12
	VRRPVersion                 int        // default 2
	VRRPStrict                  bool
	VRRPSkipCheckAdvAddr        bool
	VRRPCheckUnicastSrc         bool
	VRRPGarpMasterDelay         time.Duration // default 5s
	VRRPGarpMasterRepeat        int           // default 5
	VRRPGarpLowerPrioDelay      time.Duration // default VRRPGarpMasterDelay
	VRRPGarpLowerPrioRepeat     int           // default VRRPGarpMasterRepeat
	VRRPGarpMasterRefresh       time.Duration
	VRRPGarpMasterRefreshRepeat int // default 1
	VRRPGarpInterval            time.Duration
	VRRPGnaInterval             time.Duration
	VRRPMinGarp                 bool
	VRRPLowerPrioNoAdvert       *bool
	VRRPHigherPrioSendAdvert    *bool
	VRRPDownTimerAdverts        int // default 3
	VRRPNotifyFifo              Notify
	NotifyFifo                  Notify
	LVSSyncDaemon               *LVSSyncDaemon
	LVSFlush                    bool
	EnableScriptSecurity        bool
	ScriptUser                  string
	ScriptGroup                 string
	MaxAutoPriority             *int
	NetNamespace                string
	Instance                    string
	RandomSeed                  *uint64
	Other                       []Directive
}

// LVSSyncDaemon is the lvs_sync_daemon setting.
type LVSSyncDaemon struct {
	Interface string
	Instance  string
	SyncID    int // -1 when not set
	MaxLen    int
	Port      uint16
	TTL       int
	Group     netip.Addr
}

// Address is a virtual or static IP address line.
type Address struct {
	Prefix     netip.Prefix // address with its prefix length (32/128 when omitted)
	Broadcast  netip.Addr
	Peer       netip.Addr
	Dev        string
	Scope      string
	Label      string
	Flags      []string // home, -nodad, mngtmpaddr, noprefixroute, autojoin, no_track, use_vmac
	Preferred  string   // preferred_lft value
	TrackGroup string
}

// Nexthop is one path of a multipath route.
type Nexthop struct {
	Via    netip.Addr
	Dev    string
	Weight int
	Onlink bool
}

// Route is a virtual or static route line.
type Route struct {
	Type     string // unicast (empty), blackhole, unreachable, prohibit, throw, ...
	Src      netip.Addr
	To       netip.Prefix
	From     netip.Prefix
	Via      netip.Addr
	Dev      string
	Table    string
	Metric   *uint32
	Scope    string
	Protocol string
	Nexthops []Nexthop
	NoTrack  bool
	Options  []string // further ip-route options kept verbatim, in order
}

// Rule is a virtual or static rule line.
type Rule struct {
	From       netip.Prefix
	To         netip.Prefix
	Table      string
	Preference *uint32
	Options    []string // further ip-rule options kept verbatim, in order
	NoTrack    bool
}

// Script is a vrrp_script block.
type Script struct {
	Name     string
	Pos      Pos
	Script   string
	Interval time.Duration // default 1s
	Timeout  time.Duration // 0: interval
	Weight   int
	Reverse  bool
	Rise     int // default 1
	Fall     int // default 1
	User     string
	Group    string
	InitFail bool
}

// TrackFile is a track_file (vrrp_track_file) block.
type TrackFile struct {
	Name      string
	Pos       Pos
	File      string
	Weight    int // default 1
	Reverse   bool
	InitFile  bool
	InitValue int
	Overwrite bool
}

// TrackProcess is a track_process (vrrp_track_process) block.
type TrackProcess struct {
	Name        string
	Pos         Pos
	Process     string
	Params      []string
	ParamMatch  string // "", "initial" or "partial"
	Weight      int
	Reverse     bool
	Quorum      int // default 1
	QuorumMax   int
	ForkDelay   time.Duration
	TermDelay   time.Duration
	Delay       time.Duration
	FullCommand bool
}

// Track is a reference to a tracked object with an optional weight.
type Track struct {
	Pos     Pos
	Name    string
	Weight  int
	Reverse bool
	// Weighted is true when a weight was given, false when the object's own
	// weight (or fault on failure) applies.
	Weighted bool
}

// Auth is the authentication block of a VRRPv2 instance.
type Auth struct {
	Type string // "PASS" or "AH"
	Pass string // at most 8 bytes
}

// UnicastPeer is an entry of unicast_peer.
type UnicastPeer struct {
	Pos    Pos
	Addr   netip.Addr
	MinTTL int
	MaxTTL int // default 255
}

// Instance is a vrrp_instance block.
type Instance struct {
	Name          string
	Pos           Pos
	State         string // MASTER or BACKUP (default)
	Interface     string
	VRID          int
	Priority      int           // default 100
	AdvertInt     time.Duration // default 1s
	Version       int           // 2 or 3
	Auth          *Auth
	VirtualIPs    []Address
	ExcludedVIPs  []Address
	VirtualRoutes []Route
	VirtualRules  []Rule
	// SrcIP is the source address of adverts: unicast_src_ip and
	// mcast_src_ip are synonyms.
	SrcIP                   netip.Addr
	UnicastPeers            []UnicastPeer
	UnicastTTL              int // default 255
	UnicastFaultNoPeer      bool
	McastDstIP              netip.Addr
	CheckUnicastSrc         bool
	TrackInterfaces         []Track
	TrackScripts            []Track
	TrackFiles              []Track
	TrackProcesses          []Track
	TrackBFDs               []Track
	DontTrackPrimary        bool
	NoPreempt               bool
	PreemptDelay            time.Duration
	Accept                  *bool
	UseVMAC                 bool
	VMACName                string
	VMACXmitBase            bool
	NativeIPv6              bool
	GarpMasterDelay         time.Duration
	GarpMasterRepeat        int
	GarpLowerPrioDelay      time.Duration
	GarpLowerPrioRepeat     int
	GarpMasterRefresh       time.Duration
	GarpMasterRefreshRepeat int
	LowerPrioNoAdvert       bool
	HigherPrioSendAdvert    bool
	DownTimerAdverts        int
	SkipCheckAdvAddr        bool
	Strict                  bool
	PromoteSecondaries      bool
	NotifyMaster            Notify
	NotifyBackup            Notify
	NotifyFault             Notify
	NotifyStop              Notify
	Notify                  Notify
	NotifyMasterRxLowerPri  Notify
	NotifyPriorityChanges   bool
	SMTPAlert               *bool
	Other                   []Directive
}

// SyncGroup is a vrrp_sync_group block.
type SyncGroup struct {
	Name                    string
	Pos                     Pos
	Group                   []string
	TrackInterfaces         []Track
	TrackScripts            []Track
	TrackFiles              []Track
	TrackProcesses          []Track
	TrackBFDs               []Track
	NotifyMaster            Notify
	NotifyBackup            Notify
	NotifyFault             Notify
	NotifyStop              Notify
	Notify                  Notify
	NotifyPriorityChanges   bool
	SMTPAlert               *bool
	GlobalTracking          bool
	SyncGroupTrackingWeight bool
}

// BFDInstance is a bfd_instance block.
type BFDInstance struct {
	Name       string
	Pos        Pos
	NeighborIP netip.Addr
	SourceIP   netip.Addr
	MinRx      time.Duration // default 10ms
	MinTx      time.Duration // default 10ms
	IdleTx     time.Duration // default 1s
	Multiplier int           // default 5
	Passive    bool
	TTL        int // ttl (IPv4, default 255) or hoplimit (IPv6, default 64)
	MaxHops    int // -1..255, 255 disables hop count checking
	Weight     int
	Reverse    bool
	VRRP       bool
	Checker    bool
}

// VirtualServerGroup is a virtual_server_group block.
type VirtualServerGroup struct {
	Name    string
	Pos     Pos
	Entries []VSGEntry
}

// VSGEntry is an address range with port, or a firewall mark.
type VSGEntry struct {
	First  netip.Addr // first address of the range
	Last   netip.Addr // last address (equal to First for a single address)
	Port   uint16
	FWMark uint32
	Family string // inet or inet6 for a fwmark, optional
}

// VirtualServer is a virtual_server block. Exactly one of Addr, FWMark or
// Group identifies it.
type VirtualServer struct {
	Pos                    Pos
	Addr                   netip.Addr
	Port                   uint16
	FWMark                 uint32
	Group                  string
	Scheduler              string // lvs_sched (lb_algo), default wlc
	Method                 string // lvs_method (lb_kind): NAT (default), DR, TUN
	TunnelType             string
	Protocol               string // TCP (default), UDP, SCTP
	Persistence            bool
	PersistenceTimeout     time.Duration // default 6m when persistence is set without value
	PersistenceGranularity string
	PersistenceEngine      string
	HASuspend              bool
	VirtualHost            string
	Alpha                  bool
	Omega                  bool
	Quorum                 int // default 1
	Hysteresis             int
	QuorumUp               Notify
	QuorumDown             Notify
	IPFamily               string
	SorryServer            *RealServer
	SorryServerInhibit     bool
	DelayLoop              time.Duration // default 60s
	ConnectTimeout         time.Duration // default 5s
	Retry                  int           // default 1 (nb_get_retry)
	DelayBeforeRetry       time.Duration // default 1s (checkers: 3s for HTTP_GET/SSL_GET, delay_loop for DNS_CHECK)
	Warmup                 time.Duration // default delay_loop (0 disables)
	InhibitOnFailure       bool
	SMTPAlert              *bool
	Flags                  []string // flag-1, sh-port, ops, ...
	RealServers            []RealServer
	Other                  []Directive
}

// RealServer is a real_server (or sorry_server) entry.
type RealServer struct {
	Pos              Pos
	Addr             netip.Addr
	Port             uint16
	Weight           int // default 1
	Method           string
	InhibitOnFailure bool
	NotifyUp         Notify
	NotifyDown       Notify
	UThreshold       int
	LThreshold       int
	SMTPAlert        *bool
	VirtualHost      string
	Alpha            *bool
	DelayLoop        time.Duration // inherited from the virtual server when not set
	ConnectTimeout   time.Duration
	Retry            int
	DelayBeforeRetry time.Duration
	Warmup           time.Duration
	Checkers         []Checker
	Other            []Directive
}

// Checker is a health checker of a real server. Kind is one of TCP_CHECK,
// HTTP_GET, SSL_GET, SMTP_CHECK, DNS_CHECK, UDP_CHECK, PING_CHECK,
// MISC_CHECK, FILE_CHECK, BFD_CHECK. Common settings (timeouts, retry,
// delay_loop, warmup, alpha, connect_ip/port) are resolved: a value not set
// on the checker comes from the real server, then the virtual server, then
// keepalived's default for the kind.
type Checker struct {
	Kind             CheckerKind
	Pos              Pos
	ConnectIP        netip.Addr
	ConnectPort      uint16
	BindTo           netip.Addr
	BindIf           string
	BindPort         uint16
	FWMark           uint32
	ConnectTimeout   time.Duration
	Retry            int
	DelayBeforeRetry time.Duration
	Warmup           time.Duration
	DelayLoop        time.Duration
	Alpha            *bool
	LogAllFailures   *bool

	// HTTP_GET, SSL_GET
	URLs         []URL
	HTTPProtocol string
	VirtualHost  string
	FastRecovery bool
	EnableSNI    bool

	// SMTP_CHECK
	HeloName string // the legacy host { } sub-blocks become one SMTP_CHECK each

	// DNS_CHECK
	DNSType string // default SOA
	DNSName string // default "."

	// UDP_CHECK
	Payload        []byte
	RequireReply   bool
	ReplyData      []byte
	MinReplyLength int
	MaxReplyLength int // default 255

	// MISC_CHECK
	MiscPath    string
	MiscTimeout time.Duration
	MiscDynamic bool
	User        string
	Group       string

	// FILE_CHECK
	TrackFile string
	Dynamic   bool
	Weight    int
	Reverse   bool

	// BFD_CHECK
	BFDName string
}

// CheckerKind is the keyword of a checker block.
type CheckerKind string

// The checker kinds.
const (
	TCPCheck  CheckerKind = "TCP_CHECK"
	HTTPGet   CheckerKind = "HTTP_GET"
	SSLGet    CheckerKind = "SSL_GET"
	SMTPCheck CheckerKind = "SMTP_CHECK"
	DNSCheck  CheckerKind = "DNS_CHECK"
	UDPCheck  CheckerKind = "UDP_CHECK"
	PingCheck CheckerKind = "PING_CHECK"
	MiscCheck CheckerKind = "MISC_CHECK"
	FileCheck CheckerKind = "FILE_CHECK"
	BFDCheck  CheckerKind = "BFD_CHECK"
)

// URL is a url block of HTTP_GET or SSL_GET.
type URL struct {
	Path         string
	Digest       string // lower-case hex MD5
	StatusCodes  []StatusRange
	VirtualHost  string
	Regex        string
	RegexNoMatch bool
}

// StatusRange is an inclusive range of HTTP status codes.
type StatusRange struct{ Lo, Hi int }
