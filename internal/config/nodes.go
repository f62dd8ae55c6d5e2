package config

import (
	"fmt"
	"regexp"
	"strings"
	"time"
)

// Nodes is the `nodes:` section: the backend+database node pairs (`rudderctl deploy
// nodes --count N`, docs/NODES.md). Numbers are pointers: a key left out differs from a 0.
type Nodes struct {
	Image               string            `yaml:"image"`
	Tag                 string            `yaml:"tag"`
	CPU                 *int64            `yaml:"cpu"`
	Memory              *int64            `yaml:"memory"`
	DBInstanceClass     string            `yaml:"db_instance_class"`
	DBStorageGB         *int64            `yaml:"db_storage_gb"`
	DBSSLMode           string            `yaml:"db_ssl_mode"`
	BackupRetentionDays *int64            `yaml:"backup_retention_days"`
	DeletionProtection  *bool             `yaml:"deletion_protection"`
	CertificateARN      string            `yaml:"certificate_arn"`
	DrainTimeout        string            `yaml:"drain_timeout"`
	ListenerPort        *int64            `yaml:"listener_port"`
	HealthGracePeriod   *int64            `yaml:"health_check_grace_period"`
	LogRetentionDays    *int64            `yaml:"log_retention_days"`
	Environment         map[string]string `yaml:"environment"`
}

// Defaults of the `nodes:` section.
const (
	// DefaultNodesImage is rudder-server's image; DefaultNodesTag is pinned (the version
	// docs/NODES.md and the reference measurements are for).
	DefaultNodesImage        = "rudderlabs/rudder-server"
	DefaultNodesTag          = "1.83.0"
	DefaultNodesCPU          = 1024
	DefaultNodesMemory       = 4096
	DefaultDBInstanceClass   = "db.t4g.medium"
	DefaultDBStorageGB       = 50
	DefaultDBSSLMode         = "require"
	DefaultBackupRetention   = 7
	DefaultDrainTimeout      = 10 * time.Minute
	DefaultNodesGracePeriod  = 120
	DefaultNodesHTTPPort     = 80
	DefaultNodesHTTPSPort    = 443
	MaxNodes                 = 50
	nodesCertificateARNRegex = `^arn:aws[a-z-]*:(acm|iam):[a-z0-9-]*:\d{12}:(certificate|server-certificate)/.+$`
)

// NodesSettings is the `nodes:` section resolved: defaults applied, every value checked.
type NodesSettings struct {
	Image, Tag         string
	CPU, Memory        int32
	DBInstanceClass    string
	DBStorageGB        int32
	DBSSLMode          string
	BackupRetention    int32
	DeletionProtection bool
	CertificateARN     string
	DrainTimeout       time.Duration
	ListenerPort       int32
	GracePeriod        int32
	LogRetention       int32
	Env                map[string]string
}

// ImageRef is image:tag.
func (s NodesSettings) ImageRef() string { return s.Image + ":" + s.Tag }

var (
	dbClassRe = regexp.MustCompile(`^db\.[a-z0-9]+\.[a-z0-9]+$`)
	certRe    = regexp.MustCompile(nodesCertificateARNRegex)
)

// NodesKeysReserved are the node variables rudderctl sets itself.
var NodesKeysReserved = []string{"INSTANCE_ID", "HOSTNAME", "JOBS_DB_HOST", "JOBS_DB_PORT", "JOBS_DB_USER", "JOBS_DB_PASSWORD",
	"JOBS_DB_DB_NAME", "JOBS_DB_SSL_MODE", "CONFIG_BACKEND_URL", "WORKSPACE_TOKEN", "DEST_TRANSFORM_URL", "USER_TRANSFORM_URL",
	"RSERVER_GATEWAY_WEB_PORT"}

// ResolveNodes applies the defaults to the `nodes:` section and checks every value.
func (f *File) ResolveNodes() (NodesSettings, error) {
	e := f.Nodes
	num := func(p *int64, def int64) int64 {
		if p != nil {
			return *p
		}
		return def
	}
	s := NodesSettings{Image: e.Image, Tag: e.Tag, DBInstanceClass: e.DBInstanceClass, DBSSLMode: e.DBSSLMode,
		CertificateARN: e.CertificateARN, DeletionProtection: true, Env: map[string]string{}}
	if s.Image == "" {
		s.Image = DefaultNodesImage
	}
	if s.Tag == "" {
		s.Tag = DefaultNodesTag
	}
	if s.DBInstanceClass == "" {
		s.DBInstanceClass = DefaultDBInstanceClass
	}
	if s.DBSSLMode == "" {
		s.DBSSLMode = DefaultDBSSLMode
	}
	if e.DeletionProtection != nil {
		s.DeletionProtection = *e.DeletionProtection
	}
	for k, v := range e.Environment {
		s.Env[k] = v
	}
	s.DrainTimeout = DefaultDrainTimeout
	var drainErr error
	if e.DrainTimeout != "" {
		d, err := time.ParseDuration(e.DrainTimeout)
		switch {
		case err != nil:
			drainErr = fmt.Errorf("nodes.drain_timeout %q refused: it is not a duration; write it like 10m or 90s", e.DrainTimeout)
		case d < time.Second || d > 24*time.Hour:
			drainErr = fmt.Errorf("nodes.drain_timeout %s refused: it must be 1s..24h (how long a removed node may take to deliver its pending events)", d)
		default:
			s.DrainTimeout = d
		}
	}
	defPort := int64(DefaultNodesHTTPPort)
	if s.CertificateARN != "" {
		defPort = DefaultNodesHTTPSPort
	}
	cpu, mem := num(e.CPU, DefaultNodesCPU), num(e.Memory, DefaultNodesMemory)
	storage, backups := num(e.DBStorageGB, DefaultDBStorageGB), num(e.BackupRetentionDays, DefaultBackupRetention)
	port, grace, retention := num(e.ListenerPort, defPort), num(e.HealthGracePeriod, DefaultNodesGracePeriod), num(e.LogRetentionDays, DefaultLogRetention)
	checks := []error{
		checkNodesImage(s.Image, s.Tag), fargateFor("nodes", cpu, mem), drainErr,
		checkDBClass(s.DBInstanceClass),
		inRange("nodes.db_storage_gb", storage, 20, 65536, "GiB (RDS PostgreSQL accepts 20..65536)"),
		inRange("nodes.backup_retention_days", backups, 1, 35, "days (1..35: a node's database must keep automated backups)"),
		checkSSLMode(s.DBSSLMode), checkCertificate(s.CertificateARN),
		inRange("nodes.listener_port", port, 1, 65535, "(a TCP port)"),
		inRange("nodes.health_check_grace_period", grace, 0, 2147483647, "seconds"),
		ValidateRetention(retention), checkEnv("nodes", s.Env, NodesKeysReserved, "for each node (%s)"),
	}
	for _, err := range checks {
		if err != nil {
			return NodesSettings{}, err
		}
	}
	s.CPU, s.Memory, s.DBStorageGB, s.BackupRetention = int32(cpu), int32(mem), int32(storage), int32(backups)
	s.ListenerPort, s.GracePeriod, s.LogRetention = int32(port), int32(grace), int32(retention)
	return s, nil
}

// CheckNodeCount refuses a node count outside 1..MaxNodes.
func CheckNodeCount(n int) error {
	if n < 1 || n > MaxNodes {
		return fmt.Errorf("--count %d refused: a stack runs 1..%d nodes (each one rudder-server with its own database); give a count in that range (to remove every node, use rudderctl destroy)", n, MaxNodes)
	}
	return nil
}

func checkNodesImage(image, tag string) error {
	if err := checkImage(image, tag); err != nil {
		return fmt.Errorf("%s", strings.NewReplacer("ecs.image", "nodes.image", "ecs.tag", "nodes.tag", DefaultECSTag, DefaultNodesTag,
			"rudderstack/rudder-transformer", DefaultNodesImage).Replace(err.Error()))
	}
	return nil
}

// fargateFor is checkFargate worded for a section.
func fargateFor(section string, cpu, mem int64) error {
	if err := checkFargate(cpu, mem); err != nil {
		return fmt.Errorf("%s", strings.ReplaceAll(err.Error(), "ecs.", section+"."))
	}
	return nil
}

func checkDBClass(c string) error {
	if !dbClassRe.MatchString(c) {
		return fmt.Errorf("nodes.db_instance_class %q refused: it is not an RDS instance class (db.<family>.<size>, e.g. %s); fix it", c, DefaultDBInstanceClass)
	}
	return nil
}

func checkSSLMode(m string) error {
	switch m {
	case "disable", "allow", "prefer", "require", "verify-ca", "verify-full":
		return nil
	}
	return fmt.Errorf("nodes.db_ssl_mode %q refused: it is not a PostgreSQL sslmode (disable, allow, prefer, require, verify-ca, verify-full); use require on AWS", m)
}

func checkCertificate(arn string) error {
	if arn != "" && !certRe.MatchString(arn) {
		return fmt.Errorf("nodes.certificate_arn %q refused: it is not an ACM (or IAM server) certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>); fix it, or remove it for an HTTP listener", arn)
	}
	return nil
}
