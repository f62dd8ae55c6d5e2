// Package secretsmanager is the local cloud's Secrets Manager (JSON 1.1): secrets with
// versions and staging labels, scheduled deletion and restore, tags, and the lookups other
// rooms make (core.Secrets): ECS resolving a container's `secrets` and RDS keeping a
// managed master password.
//
// Secret values are kept in STATE/secretsmanager.json (mode 0600) and never logged.
package secretsmanager

import (
	"crypto/rand"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

const stateFile = "secretsmanager.json"

type versionRec struct {
	ID      string    `json:"id"`
	String  *string   `json:"string,omitempty"`
	Binary  []byte    `json:"binary,omitempty"`
	Stages  []string  `json:"stages"`
	Created time.Time `json:"created"`
}

type secretRec struct {
	ARN           string                 `json:"arn"`
	Name          string                 `json:"name"`
	Region        string                 `json:"region"`
	Description   string                 `json:"description,omitempty"`
	KmsKeyID      string                 `json:"kms_key_id,omitempty"`
	OwningService string                 `json:"owning_service,omitempty"`
	Created       time.Time              `json:"created"`
	Changed       time.Time              `json:"changed"`
	Accessed      time.Time              `json:"accessed,omitzero"`
	DeletionDate  *time.Time             `json:"deletion_date,omitempty"` // scheduled deletion
	DeletedDate   *time.Time             `json:"deleted_date,omitempty"`  // when it was scheduled
	Tags          map[string]string      `json:"tags"`
	Versions      map[string]*versionRec `json:"versions"`
}

// versionByStage is the version carrying a staging label (nil when none does).
func (s *secretRec) versionByStage(stage string) *versionRec {
	for _, v := range s.Versions {
		for _, st := range v.Stages {
			if st == stage {
				return v
			}
		}
	}
	return nil
}

func (s *secretRec) scheduledForDeletion() bool { return s.DeletedDate != nil }

type doc struct {
	Secrets map[string]*secretRec `json:"secrets"` // by ARN
}

// Room is Secrets Manager.
type Room struct {
	cloud *core.Cloud
	mu    sync.Mutex
	st    doc
}

// New returns the Secrets Manager room.
func New() *Room { return &Room{} }

func (*Room) Name() string { return "secretsmanager" }

func (*Room) Route(q *core.Request) (string, bool) { return q.JSON11Target("secretsmanager") }

func (*Room) Unknown(q *core.Request) {
	q.JSON11Error(http.StatusBadRequest, "UnknownOperationException", "localcloud does not implement Secrets Manager "+q.Op)
}

func (*Room) Throttle(q *core.Request) {
	q.JSON11Error(http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
}

func (*Room) Fail(q *core.Request) {
	q.JSON11Error(http.StatusInternalServerError, "InternalServiceError", "localcloud: injected fault")
}

func (r *Room) Open(c *core.Cloud) error {
	r.cloud = c
	r.st = doc{}
	if err := c.LoadDoc(stateFile, &r.st, false); err != nil {
		return err
	}
	if r.st.Secrets == nil {
		r.st.Secrets = map[string]*secretRec{}
	}
	return nil
}

func (r *Room) Save() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cloud.SaveDoc(stateFile, &r.st)
}

func (*Room) Close() {}

// commitLocked saves after a change (SaveDoc writes through a 0600 temp file). r.mu must
// be held.
func (r *Room) commitLocked() {
	if err := r.cloud.SaveDoc(stateFile, &r.st); err != nil {
		r.cloud.Logf("save secretsmanager: %v", err)
	}
}

func (r *Room) Resources(match func(map[string]string) bool) []core.Resource {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.purgeExpiredLocked()
	var out []core.Resource
	for _, s := range r.st.Secrets {
		if match(s.Tags) {
			out = append(out, core.Resource{Service: "secretsmanager", Type: "secret", Name: s.Name, ARN: s.ARN, Tags: core.CopyMap(s.Tags)})
		}
	}
	return out
}

// purgeExpiredLocked removes the secrets whose recovery window has passed.
func (r *Room) purgeExpiredLocked() {
	now := time.Now()
	changed := false
	for arn, s := range r.st.Secrets {
		if s.DeletionDate != nil && !now.Before(*s.DeletionDate) {
			delete(r.st.Secrets, arn)
			changed = true
		}
	}
	if changed {
		r.commitLocked()
	}
}

// find resolves a SecretId (name, full ARN, or ARN without the random suffix) in a region.
func (r *Room) find(region, id string) *secretRec {
	if s := r.st.Secrets[id]; s != nil {
		return s
	}
	if strings.HasPrefix(id, "arn:") {
		for _, s := range r.st.Secrets {
			if s.ARN[:len(s.ARN)-7] == id {
				return s
			}
		}
		return nil
	}
	for _, s := range r.st.Secrets {
		if s.Region == region && s.Name == id {
			return s
		}
	}
	return nil
}

const suffixAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// secretARN is the ARN of a new secret: the name and six random characters, as AWS does.
func secretARN(region, name string) string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = suffixAlphabet[int(b[i])%len(suffixAlphabet)]
	}
	return "arn:aws:secretsmanager:" + region + ":" + core.AccountID + ":secret:" + name + "-" + string(b)
}

func validName(name string) bool {
	if name == "" || len(name) > 512 {
		return false
	}
	for _, c := range name {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.ContainsRune("/_+=.@-!", c)) {
			return false
		}
	}
	return true
}
