// Package rds is the local cloud's RDS (query protocol, 2014-10-31): PostgreSQL DB
// instances that are real PostgreSQL clusters (internal/pgcluster) under the state dir,
// each on a loopback port of its own, with the master password managed in Secrets
// Manager on request; snapshots are copies of a stopped cluster's data directory, kept on
// delete and restorable; DB subnet groups; tags.
//
// An instance's Endpoint.Address is 127.0.0.1 (not a DNS name) and its Port is the
// cluster's own, chosen when the instance is created and kept across restarts.
package rds

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
	"github.com/rudderctl/rudderctl/internal/pgcluster"
)

const (
	ns        = "http://rds.amazonaws.com/doc/2014-10-31/"
	stateFile = "rds.json"
)

type instanceRec struct {
	ID                 string            `json:"id"`
	Region             string            `json:"region"`
	ARN                string            `json:"arn"`
	ResourceID         string            `json:"resource_id"`
	Class              string            `json:"class"`
	Engine             string            `json:"engine"`
	EngineVersion      string            `json:"engine_version"`
	Status             string            `json:"status"`
	MasterUsername     string            `json:"master_username"`
	DBName             string            `json:"db_name,omitempty"`
	Port               int               `json:"port"`
	AllocatedStorage   int               `json:"allocated_storage"`
	StorageType        string            `json:"storage_type"`
	Encrypted          bool              `json:"encrypted"`
	KmsKeyID           string            `json:"kms_key_id,omitempty"`
	BackupRetention    int               `json:"backup_retention"`
	DeletionProtection bool              `json:"deletion_protection"`
	CopyTagsToSnapshot bool              `json:"copy_tags_to_snapshot"`
	PubliclyAccessible bool              `json:"publicly_accessible"`
	SecurityGroups     []string          `json:"security_groups"`
	SubnetGroup        string            `json:"subnet_group"`
	AZ                 string            `json:"az"`
	Created            time.Time         `json:"created"`
	SecretARN          string            `json:"secret_arn,omitempty"` // the managed master secret
	SecretKmsKeyID     string            `json:"secret_kms_key_id,omitempty"`
	Tags               map[string]string `json:"tags"`
	// RestoreFrom is the snapshot a creating instance is restored from.
	RestoreFrom string `json:"restore_from,omitempty"`
	// FinalSnapshot is the snapshot a deleting instance leaves.
	FinalSnapshot string `json:"final_snapshot,omitempty"`
	// StatusReason says why an instance failed (its cluster did not start).
	StatusReason string `json:"status_reason,omitempty"`
}

type snapshotRec struct {
	ID               string            `json:"id"`
	Region           string            `json:"region"`
	ARN              string            `json:"arn"`
	InstanceID       string            `json:"instance_id"`
	ResourceID       string            `json:"resource_id"`
	Status           string            `json:"status"`
	Type             string            `json:"type"` // manual
	Created          time.Time         `json:"created"`
	InstanceCreated  time.Time         `json:"instance_created"`
	Engine           string            `json:"engine"`
	EngineVersion    string            `json:"engine_version"`
	MasterUsername   string            `json:"master_username"`
	DBName           string            `json:"db_name,omitempty"`
	Port             int               `json:"port"`
	AllocatedStorage int               `json:"allocated_storage"`
	StorageType      string            `json:"storage_type"`
	Encrypted        bool              `json:"encrypted"`
	KmsKeyID         string            `json:"kms_key_id,omitempty"`
	VpcID            string            `json:"vpc_id,omitempty"`
	AZ               string            `json:"az"`
	Tags             map[string]string `json:"tags"`
}

type subnetRec struct {
	ID string `json:"id"`
	AZ string `json:"az"`
}

type subnetGroupRec struct {
	Name        string            `json:"name"`
	Region      string            `json:"region"`
	ARN         string            `json:"arn"`
	Description string            `json:"description"`
	VpcID       string            `json:"vpc_id"`
	Subnets     []subnetRec       `json:"subnets"`
	Tags        map[string]string `json:"tags"`
}

type doc struct {
	Instances    map[string]*instanceRec    `json:"instances"`     // region/id
	Snapshots    map[string]*snapshotRec    `json:"snapshots"`     // region/id
	SubnetGroups map[string]*subnetGroupRec `json:"subnet_groups"` // region/name
	KmsKeys      map[string]string          `json:"kms_keys"`      // region -> the aws/rds key ARN
}

// live is an instance's running side: its cluster, and the lock its background work
// (create, reboot, snapshot, delete) holds so that one runs at a time.
type live struct {
	op      sync.Mutex
	cluster *pgcluster.Cluster
}

// Room is RDS.
type Room struct {
	cloud   *core.Cloud
	secrets core.Secrets
	network core.Network
	mu      sync.Mutex
	st      doc
	lives   map[string]*live // by region/id
	ctx     context.Context  // cancelled by Close: background work stops
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	// templates are initdb'd data directories new instances start as copies of.
	templates *pgcluster.Templates
}

// New returns the RDS room.
func New() *Room { return &Room{} }

func (*Room) Name() string { return "rds" }

func (*Room) Route(q *core.Request) (string, bool) { return q.QueryAction(ns) }

func (*Room) Unknown(q *core.Request) {
	sender(q, http.StatusBadRequest, "InvalidAction", "localcloud does not implement RDS "+q.Op)
}

func (*Room) Throttle(q *core.Request) {
	sender(q, http.StatusBadRequest, "Throttling", "Rate exceeded")
}

func (*Room) Fail(q *core.Request) {
	q.QueryError(ns, http.StatusInternalServerError, "InternalFailure", "Receiver", "localcloud: injected fault")
}

func sender(q *core.Request, status int, code, msg string) {
	q.QueryError(ns, status, code, "Sender", msg)
}

func respond(q *core.Request, body func(b *core.XMLBuf)) { q.QueryResponse(ns, q.Op, body) }

func key(region, id string) string { return region + "/" + id }

// Open loads the state, finds the peers and brings the instances back: available ones
// start their clusters (in parallel, before the cloud listens); interrupted work resumes.
func (r *Room) Open(c *core.Cloud) error {
	r.cloud = c
	r.secrets = core.Peer[core.Secrets](c)
	r.network = core.Peer[core.Network](c)
	r.st = doc{}
	if err := c.LoadDoc(stateFile, &r.st, false); err != nil {
		return err
	}
	if r.st.Instances == nil {
		r.st.Instances = map[string]*instanceRec{}
	}
	if r.st.Snapshots == nil {
		r.st.Snapshots = map[string]*snapshotRec{}
	}
	if r.st.SubnetGroups == nil {
		r.st.SubnetGroups = map[string]*subnetGroupRec{}
	}
	if r.st.KmsKeys == nil {
		r.st.KmsKeys = map[string]string{}
	}
	r.lives = map[string]*live{}
	r.templates = pgcluster.NewTemplates(c.Path("rds", "templates"))
	r.ctx, r.cancel = context.WithCancel(context.Background())
	r.resume()
	return nil
}

// resume restarts what was running or under way when the cloud stopped. The loop holds
// the lock; the work it starts takes it after.
func (r *Room) resume() {
	var starts sync.WaitGroup
	r.mu.Lock()
	for k, in := range r.st.Instances {
		switch in.Status {
		case "creating":
			if r.passwordForResumeLocked(k, in) {
				r.goCreate(k, "", false)
			}
		case "deleting":
			r.goDelete(k)
		case "failed":
		default: // available, backing-up, modifying, rebooting
			in.Status = "available"
			lv := r.liveOfLocked(k, in)
			starts.Add(1)
			go func() {
				defer starts.Done()
				ctx, cancel := context.WithTimeout(r.ctx, startTimeout)
				defer cancel()
				if err := r.start(ctx, k, lv); err != nil {
					r.cloud.Logf("rds: instance %s did not start: %v", in.ID, err)
					r.setStatus(k, "failed", "the PostgreSQL cluster did not start: "+firstLine(err.Error()))
				}
			}()
		}
	}
	for _, s := range r.st.Snapshots {
		if s.Status == "creating" && r.st.Instances[key(s.Region, s.InstanceID)] == nil {
			s.Status = "failed" // its instance is gone: the copy cannot be finished
		}
	}
	r.mu.Unlock()
	starts.Wait()
}

// passwordForResumeLocked gives an interrupted create the master password initdb needs
// when the cluster was never initialized: a managed one is read back from its secret; a
// given one was never stored, so the instance fails. false = failed.
func (r *Room) passwordForResumeLocked(k string, in *instanceRec) bool {
	lv := r.liveOfLocked(k, in)
	if in.RestoreFrom != "" || lv.cluster.Initialized() {
		return true
	}
	if in.SecretARN != "" && r.secrets != nil {
		if pw, err := r.secrets.SecretValue(in.Region, in.SecretARN+":password::"); err == nil {
			cfg := lv.cluster.Config()
			cfg.Password = pw
			lv.cluster = newCluster(cfg)
			return true
		}
	}
	in.Status, in.StatusReason = "failed", "the local cloud stopped before the database was initialized, and the master password was not kept"
	return false
}

func (r *Room) Save() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cloud.SaveDoc(stateFile, &r.st)
}

// Close stops the background work and every cluster.
func (r *Room) Close() {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.wg.Wait()
	r.mu.Lock()
	lives := make([]*live, 0, len(r.lives))
	for _, lv := range r.lives {
		lives = append(lives, lv)
	}
	r.mu.Unlock()
	var wg sync.WaitGroup
	for _, lv := range lives {
		wg.Add(1)
		go func() { defer wg.Done(); _ = lv.cluster.Stop() }()
	}
	wg.Wait()
}

// commitLocked saves after a change. r.mu must be held.
func (r *Room) commitLocked() {
	if err := r.cloud.SaveDoc(stateFile, &r.st); err != nil {
		r.cloud.Logf("save rds: %v", err)
	}
}

func (r *Room) Resources(match func(map[string]string) bool) []core.Resource {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []core.Resource
	for _, in := range r.st.Instances {
		if match(in.Tags) {
			out = append(out, core.Resource{Service: "rds", Type: "db", Name: in.ID, ARN: in.ARN, Tags: core.CopyMap(in.Tags)})
		}
	}
	for _, s := range r.st.Snapshots {
		if match(s.Tags) {
			out = append(out, core.Resource{Service: "rds", Type: "snapshot", Name: s.ID, ARN: s.ARN, Tags: core.CopyMap(s.Tags)})
		}
	}
	for _, g := range r.st.SubnetGroups {
		if match(g.Tags) {
			out = append(out, core.Resource{Service: "rds", Type: "subgrp", Name: g.Name, ARN: g.ARN, Tags: core.CopyMap(g.Tags)})
		}
	}
	return out
}

// Paths of an instance's cluster and of a snapshot's data directory.
func (r *Room) instanceDir(region, id string) string {
	return r.cloud.Path("rds", region, "instances", id)
}

func (r *Room) snapshotDir(region, id string) string {
	return r.cloud.Path("rds", region, "snapshots", id, "data")
}

// liveOfLocked is the running side of an instance, made on first use. r.mu must be held.
func (r *Room) liveOfLocked(k string, in *instanceRec) *live {
	if lv := r.lives[k]; lv != nil {
		return lv
	}
	// Only initdb reads the password: afterwards it lives in the cluster itself.
	lv := &live{cluster: newCluster(pgcluster.Config{Dir: r.instanceDir(in.Region, in.ID), User: in.MasterUsername,
		Password: "(in the cluster)", Database: in.DBName, Port: in.Port})}
	r.lives[k] = lv
	return lv
}

func removeAllQuiet(dir string) {
	_ = os.RemoveAll(dir)
	// Drop the emptied parents (snapshots/<id>) but never the room's own folders.
	if filepath.Base(dir) == "data" {
		_ = os.Remove(filepath.Dir(dir))
	}
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}

// newCluster describes an instance's cluster (the config is always complete here).
func newCluster(cfg pgcluster.Config) *pgcluster.Cluster {
	cl, err := pgcluster.New(cfg)
	if err != nil {
		panic("rds: " + err.Error())
	}
	return cl
}
