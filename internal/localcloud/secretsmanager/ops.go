package secretsmanager

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

// Ops is the Secrets Manager operation table.
func (r *Room) Ops() []core.Op {
	return []core.Op{
		core.Write("CreateSecret", r.with(r.createSecret)),
		core.Read("GetSecretValue", r.onSecret(r.getSecretValue)),
		core.Write("PutSecretValue", r.onLive(r.putSecretValue)),
		core.Write("UpdateSecret", r.onLive(r.updateSecret)),
		core.Read("DescribeSecret", r.onSecret(describeSecret)),
		core.Read("ListSecrets", r.with(r.listSecrets)),
		core.Read("ListSecretVersionIds", r.onSecret(listSecretVersionIds)),
		core.Write("DeleteSecret", r.onSecret(r.deleteSecret)),
		core.Write("RestoreSecret", r.onSecret(r.restoreSecret)),
		core.Write("TagResource", r.onSecret(r.tagResource)),
		core.Write("UntagResource", r.onSecret(r.untagResource)),
		core.Read("GetRandomPassword", r.with(getRandomPassword)),
	}
}

type tag struct {
	Key   string `json:"Key"`
	Value string `json:"Value"`
}

type filter struct {
	Key    string   `json:"Key"`
	Values []string `json:"Values"`
}

type input struct {
	Name                       string   `json:"Name"`
	SecretID                   string   `json:"SecretId"`
	Description                *string  `json:"Description"`
	KmsKeyID                   string   `json:"KmsKeyId"`
	SecretString               *string  `json:"SecretString"`
	SecretBinary               []byte   `json:"SecretBinary"`
	ClientRequestToken         string   `json:"ClientRequestToken"`
	VersionID                  string   `json:"VersionId"`
	VersionStage               string   `json:"VersionStage"`
	VersionStages              []string `json:"VersionStages"`
	Tags                       []tag    `json:"Tags"`
	TagKeys                    []string `json:"TagKeys"`
	Filters                    []filter `json:"Filters"`
	MaxResults                 int      `json:"MaxResults"`
	NextToken                  string   `json:"NextToken"`
	SortOrder                  string   `json:"SortOrder"`
	IncludePlannedDeletion     bool     `json:"IncludePlannedDeletion"`
	IncludeDeprecated          bool     `json:"IncludeDeprecated"`
	RecoveryWindowInDays       *int64   `json:"RecoveryWindowInDays"`
	ForceDeleteWithoutRecovery bool     `json:"ForceDeleteWithoutRecovery"`
	PasswordLength             int      `json:"PasswordLength"`
	ExcludeCharacters          string   `json:"ExcludeCharacters"`
	ExcludeNumbers             bool     `json:"ExcludeNumbers"`
	ExcludePunctuation         bool     `json:"ExcludePunctuation"`
	ExcludeUppercase           bool     `json:"ExcludeUppercase"`
	ExcludeLowercase           bool     `json:"ExcludeLowercase"`
	IncludeSpace               bool     `json:"IncludeSpace"`
}

func decode(q *core.Request) (*input, bool) {
	in := &input{}
	b, err := core.ReadLimited(q.R.Body, 1<<20)
	if err != nil {
		q.JSON11Error(http.StatusRequestEntityTooLarge, "InvalidParameterException", "request too large")
		return nil, false
	}
	if strings.TrimSpace(string(b)) != "" {
		if err := json.Unmarshal(b, in); err != nil {
			q.JSON11Error(http.StatusBadRequest, "SerializationException", "the request body is not a valid Secrets Manager input")
			return nil, false
		}
	}
	return in, true
}

// with decodes the input and runs h under the room's lock.
func (r *Room) with(h func(q *core.Request, in *input)) func(*core.Request) {
	return func(q *core.Request) {
		in, ok := decode(q)
		if !ok {
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		r.purgeExpiredLocked()
		h(q, in)
	}
}

// onSecret is with on the secret SecretId names (ResourceNotFoundException without one).
func (r *Room) onSecret(h func(q *core.Request, in *input, s *secretRec)) func(*core.Request) {
	return r.with(func(q *core.Request, in *input) {
		s := r.find(q.Region, in.SecretID)
		if s == nil {
			notFound(q)
			return
		}
		h(q, in, s)
	})
}

// onLive is onSecret for operations a secret scheduled for deletion refuses.
func (r *Room) onLive(h func(q *core.Request, in *input, s *secretRec)) func(*core.Request) {
	return r.onSecret(func(q *core.Request, in *input, s *secretRec) {
		if s.scheduledForDeletion() {
			markedForDeletion(q)
			return
		}
		h(q, in, s)
	})
}

func notFound(q *core.Request) {
	q.JSON11Error(http.StatusBadRequest, "ResourceNotFoundException", "Secrets Manager can't find the specified secret.")
}

func markedForDeletion(q *core.Request) {
	q.JSON11Error(http.StatusBadRequest, "InvalidRequestException", "You can't perform this operation on the secret because it was marked for deletion.")
}

func invalidParam(q *core.Request, msg string) {
	q.JSON11Error(http.StatusBadRequest, "InvalidParameterException", msg)
}

func epoch(t time.Time) float64 { return float64(t.UnixMilli()) / 1000 }

func (r *Room) createSecret(q *core.Request, in *input) {
	if !validName(in.Name) || strings.Contains(in.Name, "!") {
		invalidParam(q, "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!")
		return
	}
	if in.SecretString != nil && in.SecretBinary != nil {
		invalidParam(q, "You can't specify both a binary secret value and a string secret value in the same secret.")
		return
	}
	if s := r.find(q.Region, in.Name); s != nil {
		if s.scheduledForDeletion() {
			q.JSON11Error(http.StatusBadRequest, "InvalidRequestException", "You can't create this secret because a secret with this name is already scheduled for deletion.")
			return
		}
		q.JSON11Error(http.StatusBadRequest, "ResourceExistsException", "The operation failed because the secret "+in.Name+" already exists.")
		return
	}
	tags := map[string]string{}
	for _, t := range in.Tags {
		tags[t.Key] = t.Value
	}
	desc := ""
	if in.Description != nil {
		desc = *in.Description
	}
	s := r.addLocked(q.Region, in.Name, desc, in.KmsKeyID, "", tags)
	resp := map[string]any{"ARN": s.ARN, "Name": s.Name}
	if in.SecretString != nil || in.SecretBinary != nil {
		v := addVersion(s, in.ClientRequestToken, in.SecretString, in.SecretBinary, nil)
		resp["VersionId"] = v.ID
	}
	r.commitLocked()
	q.JSON11(resp)
}

// addLocked records a new secret without a value.
func (r *Room) addLocked(region, name, desc, kms, owner string, tags map[string]string) *secretRec {
	now := time.Now().UTC()
	s := &secretRec{ARN: secretARN(region, name), Name: name, Region: region, Description: desc, KmsKeyID: kms,
		OwningService: owner, Created: now, Changed: now, Tags: tags, Versions: map[string]*versionRec{}}
	r.st.Secrets[s.ARN] = s
	return s
}

// addVersion stores a new version and moves its stages (AWSCURRENT by default) to it; the
// version that was AWSCURRENT becomes AWSPREVIOUS.
func addVersion(s *secretRec, id string, str *string, bin []byte, stages []string) *versionRec {
	if id == "" {
		id = core.NewRequestID()
	}
	if len(stages) == 0 {
		stages = []string{"AWSCURRENT"}
	}
	for _, st := range stages {
		old := s.versionByStage(st)
		if old == nil {
			continue
		}
		old.Stages = without(old.Stages, st)
		if st == "AWSCURRENT" {
			if prev := s.versionByStage("AWSPREVIOUS"); prev != nil {
				prev.Stages = without(prev.Stages, "AWSPREVIOUS")
			}
			old.Stages = append(old.Stages, "AWSPREVIOUS")
		}
	}
	// A version without labels is deprecated; AWS drops it eventually, we at once.
	for vid, v := range s.Versions {
		if len(v.Stages) == 0 {
			delete(s.Versions, vid)
		}
	}
	now := time.Now().UTC()
	v := &versionRec{ID: id, String: str, Binary: bin, Stages: append([]string(nil), stages...), Created: now}
	s.Versions[id] = v
	s.Changed = now
	return v
}

func without(list []string, s string) []string {
	var out []string
	for _, x := range list {
		if x != s {
			out = append(out, x)
		}
	}
	return out
}

func (r *Room) getSecretValue(q *core.Request, in *input, s *secretRec) {
	if s.scheduledForDeletion() {
		markedForDeletion(q)
		return
	}
	v, msg := pickVersion(s, in.VersionID, in.VersionStage)
	if v == nil {
		q.JSON11Error(http.StatusBadRequest, "ResourceNotFoundException", msg)
		return
	}
	s.Accessed = time.Now().UTC().Truncate(24 * time.Hour)
	resp := map[string]any{"ARN": s.ARN, "Name": s.Name, "VersionId": v.ID, "VersionStages": v.Stages, "CreatedDate": epoch(v.Created)}
	if v.String != nil {
		resp["SecretString"] = *v.String
	}
	if v.Binary != nil {
		resp["SecretBinary"] = v.Binary
	}
	q.JSON11(resp)
}

// pickVersion is the version a VersionId and/or VersionStage name (AWSCURRENT by default).
func pickVersion(s *secretRec, id, stage string) (*versionRec, string) {
	if id != "" {
		v := s.Versions[id]
		if v == nil || (stage != "" && !contains(v.Stages, stage)) {
			return nil, "Secrets Manager can't find the specified secret value for VersionId: " + id
		}
		return v, ""
	}
	if stage == "" {
		stage = "AWSCURRENT"
	}
	if v := s.versionByStage(stage); v != nil {
		return v, ""
	}
	return nil, "Secrets Manager can't find the specified secret value for staging label: " + stage
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func (r *Room) putSecretValue(q *core.Request, in *input, s *secretRec) {
	if (in.SecretString == nil) == (in.SecretBinary == nil) {
		invalidParam(q, "You must provide either SecretString or SecretBinary.")
		return
	}
	if old := s.Versions[in.ClientRequestToken]; in.ClientRequestToken != "" && old != nil {
		if !sameValue(old, in.SecretString, in.SecretBinary) {
			q.JSON11Error(http.StatusBadRequest, "ResourceExistsException", "You can't modify an existing version, you can only create a new version.")
			return
		}
		q.JSON11(map[string]any{"ARN": s.ARN, "Name": s.Name, "VersionId": old.ID, "VersionStages": old.Stages})
		return
	}
	v := addVersion(s, in.ClientRequestToken, in.SecretString, in.SecretBinary, in.VersionStages)
	r.commitLocked()
	q.JSON11(map[string]any{"ARN": s.ARN, "Name": s.Name, "VersionId": v.ID, "VersionStages": v.Stages})
}

func sameValue(v *versionRec, str *string, bin []byte) bool {
	if str != nil {
		return v.String != nil && *v.String == *str
	}
	return v.String == nil && string(v.Binary) == string(bin)
}

func (r *Room) updateSecret(q *core.Request, in *input, s *secretRec) {
	if in.Description != nil {
		s.Description = *in.Description
	}
	if in.KmsKeyID != "" {
		s.KmsKeyID = in.KmsKeyID
	}
	s.Changed = time.Now().UTC()
	resp := map[string]any{"ARN": s.ARN, "Name": s.Name}
	if in.SecretString != nil || in.SecretBinary != nil {
		v := addVersion(s, in.ClientRequestToken, in.SecretString, in.SecretBinary, nil)
		resp["VersionId"] = v.ID
	}
	r.commitLocked()
	q.JSON11(resp)
}

// view is a secret's metadata as DescribeSecret and ListSecrets give it (never its value).
func view(s *secretRec, versionsKey string) map[string]any {
	stages := map[string][]string{}
	for id, v := range s.Versions {
		stages[id] = v.Stages
	}
	m := map[string]any{"ARN": s.ARN, "Name": s.Name, "CreatedDate": epoch(s.Created),
		"LastChangedDate": epoch(s.Changed), versionsKey: stages, "Tags": tagList(s.Tags)}
	if s.Description != "" {
		m["Description"] = s.Description
	}
	if s.KmsKeyID != "" {
		m["KmsKeyId"] = s.KmsKeyID
	}
	if s.OwningService != "" {
		m["OwningService"] = s.OwningService
	}
	if !s.Accessed.IsZero() {
		m["LastAccessedDate"] = epoch(s.Accessed)
	}
	if s.DeletedDate != nil {
		m["DeletedDate"] = epoch(*s.DeletedDate)
	}
	return m
}

func tagList(tags map[string]string) []tag {
	out := []tag{}
	for _, k := range core.SortedKeys(tags) {
		out = append(out, tag{Key: k, Value: tags[k]})
	}
	return out
}

func describeSecret(q *core.Request, _ *input, s *secretRec) {
	q.JSON11(view(s, "VersionIdsToStages"))
}

func listSecretVersionIds(q *core.Request, _ *input, s *secretRec) {
	versions := []map[string]any{}
	for _, id := range core.SortedKeys(s.Versions) {
		v := s.Versions[id]
		versions = append(versions, map[string]any{"VersionId": v.ID, "VersionStages": v.Stages, "CreatedDate": epoch(v.Created)})
	}
	q.JSON11(map[string]any{"ARN": s.ARN, "Name": s.Name, "Versions": versions})
}

var filterKeys = map[string]bool{"description": true, "name": true, "tag-key": true, "tag-value": true,
	"primary-region": true, "owning-service": true, "all": true}

func (r *Room) listSecrets(q *core.Request, in *input) {
	for _, f := range in.Filters {
		if !filterKeys[f.Key] {
			invalidParam(q, "Invalid filter key: "+f.Key+". Valid keys are description, name, tag-key, tag-value, primary-region, owning-service, all.")
			return
		}
	}
	var list []*secretRec
	for _, s := range r.st.Secrets {
		if s.Region != q.Region || (s.scheduledForDeletion() && !in.IncludePlannedDeletion) || !matchesAll(s, in.Filters) {
			continue
		}
		list = append(list, s)
	}
	sort.Slice(list, func(i, j int) bool {
		if in.SortOrder == "asc" {
			return list[i].Created.Before(list[j].Created) || list[i].Created.Equal(list[j].Created) && list[i].Name < list[j].Name
		}
		return list[i].Created.After(list[j].Created) || list[i].Created.Equal(list[j].Created) && list[i].Name < list[j].Name
	})
	start, end, next := core.PageIndex(len(list), in.NextToken, strconv.Itoa(in.MaxResults), 100)
	out := []map[string]any{}
	for _, s := range list[start:end] {
		out = append(out, view(s, "SecretVersionsToStages"))
	}
	resp := map[string]any{"SecretList": out}
	if next != "" {
		resp["NextToken"] = next
	}
	q.JSON11(resp)
}

// matchesAll: every filter matches (AND); within a filter any value does (OR); a value
// matches a prefix, "!value" negates it.
func matchesAll(s *secretRec, filters []filter) bool {
	for _, f := range filters {
		any := false
		for _, v := range f.Values {
			neg := strings.HasPrefix(v, "!")
			if matchesFilter(s, f.Key, strings.TrimPrefix(v, "!")) != neg {
				any = true
				break
			}
		}
		if !any {
			return false
		}
	}
	return true
}

func matchesFilter(s *secretRec, key, v string) bool {
	prefixIn := func(list ...string) bool {
		for _, x := range list {
			if strings.HasPrefix(x, v) {
				return true
			}
		}
		return false
	}
	keys, values := core.SortedKeys(s.Tags), []string{}
	for _, k := range keys {
		values = append(values, s.Tags[k])
	}
	switch key {
	case "name":
		return prefixIn(s.Name)
	case "description":
		return prefixIn(s.Description)
	case "tag-key":
		return prefixIn(keys...)
	case "tag-value":
		return prefixIn(values...)
	case "primary-region":
		return prefixIn(s.Region)
	case "owning-service":
		return prefixIn(s.OwningService)
	}
	return prefixIn(append(append([]string{s.Name, s.Description, s.OwningService}, keys...), values...)...)
}

func (r *Room) deleteSecret(q *core.Request, in *input, s *secretRec) {
	if in.ForceDeleteWithoutRecovery && in.RecoveryWindowInDays != nil {
		invalidParam(q, "You can't use ForceDeleteWithoutRecovery in conjunction with RecoveryWindowInDays.")
		return
	}
	days := int64(30)
	if in.RecoveryWindowInDays != nil {
		days = *in.RecoveryWindowInDays
		if days < 7 || days > 30 {
			invalidParam(q, "The RecoveryWindowInDays value must be between 7 and 30 days (inclusive).")
			return
		}
	}
	if s.scheduledForDeletion() && !in.ForceDeleteWithoutRecovery {
		markedForDeletion(q)
		return
	}
	now := time.Now().UTC()
	deletion := now.Add(time.Duration(days) * 24 * time.Hour)
	if in.ForceDeleteWithoutRecovery {
		deletion = now
		delete(r.st.Secrets, s.ARN)
	} else {
		s.DeletedDate, s.DeletionDate = &now, &deletion
	}
	r.commitLocked()
	q.JSON11(map[string]any{"ARN": s.ARN, "Name": s.Name, "DeletionDate": epoch(deletion)})
}

func (r *Room) restoreSecret(q *core.Request, _ *input, s *secretRec) {
	s.DeletedDate, s.DeletionDate = nil, nil
	r.commitLocked()
	q.JSON11(map[string]any{"ARN": s.ARN, "Name": s.Name})
}

func (r *Room) tagResource(q *core.Request, in *input, s *secretRec) {
	for _, t := range in.Tags {
		if strings.HasPrefix(t.Key, "aws:") {
			invalidParam(q, "Tag keys prefixed with aws: are reserved for AWS use.")
			return
		}
	}
	for _, t := range in.Tags {
		s.Tags[t.Key] = t.Value
	}
	r.commitLocked()
	q.JSON11(map[string]any{})
}

func (r *Room) untagResource(q *core.Request, in *input, s *secretRec) {
	for _, k := range in.TagKeys {
		delete(s.Tags, k)
	}
	r.commitLocked()
	q.JSON11(map[string]any{})
}

const punctuation = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"

func getRandomPassword(q *core.Request, in *input) {
	n := in.PasswordLength
	if n == 0 {
		n = 32
	}
	if n < 1 || n > 4096 {
		invalidParam(q, "PasswordLength must be between 1 and 4096.")
		return
	}
	var classes []string
	add := func(skip bool, set string) {
		if skip {
			return
		}
		var b strings.Builder
		for _, c := range set {
			if !strings.ContainsRune(in.ExcludeCharacters, c) {
				b.WriteRune(c)
			}
		}
		if b.Len() > 0 {
			classes = append(classes, b.String())
		}
	}
	add(in.ExcludeLowercase, "abcdefghijklmnopqrstuvwxyz")
	add(in.ExcludeUppercase, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
	add(in.ExcludeNumbers, "0123456789")
	add(in.ExcludePunctuation, punctuation)
	add(!in.IncludeSpace, " ")
	if len(classes) == 0 {
		invalidParam(q, "You excluded every character; nothing is left to build a password from.")
		return
	}
	q.JSON11(map[string]any{"RandomPassword": RandomPassword(n, classes)})
}

// RandomPassword draws n characters, at least one of each class when n allows.
func RandomPassword(n int, classes []string) string {
	all := strings.Join(classes, "")
	out := make([]byte, n)
	for i := range out {
		set := all
		if i < len(classes) {
			set = classes[i]
		}
		out[i] = set[randInt(len(set))]
	}
	// Shuffle so the class-guaranteeing characters are not always first.
	for i := n - 1; i > 0; i-- {
		j := randInt(i + 1)
		out[i], out[j] = out[j], out[i]
	}
	return string(out)
}

func randInt(n int) int {
	v, err := rand.Int(rand.Reader, big.NewInt(int64(n)))
	if err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	return int(v.Int64())
}
