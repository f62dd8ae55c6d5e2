// Package iam is the local cloud's IAM (query protocol): roles, their inline policies,
// their attached AWS managed policies and their tags.
package iam

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

const ns = "https://iam.amazonaws.com/doc/2010-05-08/"

// stateFile is the room's document; its fields are named as in the old state.json.
const stateFile = "iam.json"

type roleRec struct {
	Name               string            `json:"name"`
	Path               string            `json:"path"`
	ARN                string            `json:"arn"`
	ID                 string            `json:"id"`
	Created            time.Time         `json:"created"`
	AssumeRolePolicy   string            `json:"assume_role_policy"`
	Description        string            `json:"description,omitempty"`
	MaxSessionDuration int               `json:"max_session_duration"`
	Tags               map[string]string `json:"tags"`
	Policies           map[string]string `json:"policies"`           // inline: name -> document
	Attached           map[string]bool   `json:"attached,omitempty"` // managed policy ARNs
}

type doc struct {
	Roles map[string]*roleRec `json:"roles"`
}

// Room is IAM.
type Room struct {
	cloud *core.Cloud
	mu    sync.Mutex
	st    doc
}

// New returns the IAM room.
func New() *Room { return &Room{} }

func (*Room) Name() string { return "iam" }

func (r *Room) Open(c *core.Cloud) error {
	r.cloud = c
	r.st = doc{}
	if err := c.LoadDoc(stateFile, &r.st, true); err != nil {
		return err
	}
	if r.st.Roles == nil {
		r.st.Roles = map[string]*roleRec{}
	}
	return nil
}

func (r *Room) Save() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cloud.SaveDoc(stateFile, &r.st)
}

func (*Room) Close() {}

// commitLocked saves after a change; a failed save is logged, not returned, since the
// change has already happened in memory. r.mu must be held.
func (r *Room) commitLocked() {
	if err := r.cloud.SaveDoc(stateFile, &r.st); err != nil {
		r.cloud.Logf("save state: %v", err)
	}
}

func (r *Room) Resources(match func(map[string]string) bool) []core.Resource {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []core.Resource
	for _, role := range r.st.Roles {
		if match(role.Tags) {
			out = append(out, core.Resource{Service: "iam", Type: "role", Name: role.Name, ARN: role.ARN, Tags: core.CopyMap(role.Tags)})
		}
	}
	return out
}

func (*Room) Route(q *core.Request) (string, bool) { return q.QueryAction(ns) }

func (*Room) Unknown(q *core.Request) {
	sender(q, http.StatusBadRequest, "InvalidAction", "localcloud does not implement IAM "+q.Op)
}

func (*Room) Throttle(q *core.Request) {
	sender(q, http.StatusBadRequest, "Throttling", "Rate exceeded")
}

func (*Room) Fail(q *core.Request) {
	q.QueryError(ns, http.StatusInternalServerError, "ServiceFailure", "Receiver", "localcloud: injected fault")
}

func sender(q *core.Request, status int, code, msg string) {
	q.QueryError(ns, status, code, "Sender", msg)
}

func respond(q *core.Request, body func(b *core.XMLBuf)) { q.QueryResponse(ns, q.Op, body) }

// RoleUsable is the Lambda-side check of a role ARN (core.Roles): it must exist and be
// older than the propagation delay.
func (r *Room) RoleUsable(arn string) bool {
	i := strings.LastIndex(arn, "/")
	if !strings.HasPrefix(arn, "arn:aws:iam::") || i < 0 {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	role := r.st.Roles[arn[i+1:]]
	if role == nil || role.ARN != arn {
		return false
	}
	return time.Since(role.Created) >= r.cloud.Delays().RolePropagation
}

// Ops is IAM's operation table.
func (r *Room) Ops() []core.Op {
	return []core.Op{
		core.Write("CreateRole", r.locked(r.createRole)),
		core.Read("GetRole", r.onRole(getRole)),
		core.Write("DeleteRole", r.onRole(r.deleteRole)),
		core.Read("ListRoles", r.locked(r.listRoles)),
		core.Write("UpdateAssumeRolePolicy", r.onRole(r.updateAssumeRolePolicy)),
		core.Write("PutRolePolicy", r.onRole(r.putRolePolicy)),
		core.Read("GetRolePolicy", r.onRole(getRolePolicy)),
		core.Read("ListRolePolicies", r.onRole(listRolePolicies)),
		core.Write("DeleteRolePolicy", r.onRole(r.deleteRolePolicy)),
		core.Write("TagRole", r.onRole(r.tagRole)),
		core.Write("UntagRole", r.onRole(r.untagRole)),
		core.Read("ListRoleTags", r.onRole(listRoleTags)),
		core.Write("AttachRolePolicy", r.onRole(r.attachRolePolicy)),
		core.Write("DetachRolePolicy", r.onRole(r.detachRolePolicy)),
		core.Read("ListAttachedRolePolicies", r.onRole(listAttachedRolePolicies)),
	}
}

// locked runs a handler under the room's lock with the call's form.
func (r *Room) locked(h func(q *core.Request, f url.Values)) func(*core.Request) {
	return func(q *core.Request) {
		r.mu.Lock()
		defer r.mu.Unlock()
		h(q, q.R.Form)
	}
}

// onRole runs a handler on the role RoleName names, answering NoSuchEntity when it is not there.
func (r *Room) onRole(h func(q *core.Request, f url.Values, role *roleRec)) func(*core.Request) {
	return r.locked(func(q *core.Request, f url.Values) {
		name := f.Get("RoleName")
		role := r.st.Roles[name]
		if role == nil {
			sender(q, http.StatusNotFound, "NoSuchEntity", "The role with name "+name+" cannot be found.")
			return
		}
		h(q, f, role)
	})
}

var roleNameRE = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)

func (r *Room) createRole(q *core.Request, f url.Values) {
	name := f.Get("RoleName")
	if !roleNameRE.MatchString(name) {
		sender(q, http.StatusBadRequest, "ValidationError", "1 validation error detected: Value at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+")
		return
	}
	if r.st.Roles[name] != nil {
		sender(q, http.StatusConflict, "EntityAlreadyExists", "Role with name "+name+" already exists.")
		return
	}
	doc := f.Get("AssumeRolePolicyDocument")
	if doc == "" {
		sender(q, http.StatusBadRequest, "ValidationError", "1 validation error detected: Value null at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must not be null")
		return
	}
	if !validPolicyJSON(doc) {
		sender(q, http.StatusBadRequest, "MalformedPolicyDocument", "This policy contains invalid Json")
		return
	}
	path := f.Get("Path")
	if path == "" {
		path = "/"
	}
	if !strings.HasPrefix(path, "/") || !strings.HasSuffix(path, "/") {
		sender(q, http.StatusBadRequest, "ValidationError", "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.")
		return
	}
	msd, _ := strconv.Atoi(f.Get("MaxSessionDuration"))
	if msd == 0 {
		msd = 3600
	}
	role := &roleRec{
		Name: name, Path: path, ARN: "arn:aws:iam::" + core.AccountID + ":role" + path + name,
		ID: "AROA" + strings.ToUpper(core.RandomID(17)), Created: time.Now().UTC(),
		AssumeRolePolicy: doc, Description: f.Get("Description"), MaxSessionDuration: msd,
		Tags: formTags(f, "Tags"), Policies: map[string]string{},
	}
	r.st.Roles[name] = role
	r.commitLocked()
	respond(q, func(b *core.XMLBuf) { b.Open("Role"); writeRole(b, role, true); b.End("Role") })
}

func getRole(q *core.Request, _ url.Values, role *roleRec) {
	respond(q, func(b *core.XMLBuf) { b.Open("Role"); writeRole(b, role, true); b.End("Role") })
}

func (r *Room) deleteRole(q *core.Request, _ url.Values, role *roleRec) {
	if len(role.Policies) > 0 {
		sender(q, http.StatusConflict, "DeleteConflict", "Cannot delete entity, must delete policies first.")
		return
	}
	if len(role.Attached) > 0 {
		sender(q, http.StatusConflict, "DeleteConflict", "Cannot delete entity, must detach all policies first.")
		return
	}
	delete(r.st.Roles, role.Name)
	r.commitLocked()
	respond(q, nil)
}

func (r *Room) listRoles(q *core.Request, f url.Values) {
	prefix := pathPrefix(f)
	var names []string
	for n, role := range r.st.Roles {
		if strings.HasPrefix(role.Path, prefix) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	pg, next := page(names, f.Get("Marker"), maxItems(f))
	respond(q, func(b *core.XMLBuf) {
		b.Open("Roles")
		for _, n := range pg {
			b.WriteString("<member>")
			writeRole(b, r.st.Roles[n], false)
			b.WriteString("</member>")
		}
		b.End("Roles")
		writePageEnd(b, next)
	})
}

func (r *Room) updateAssumeRolePolicy(q *core.Request, f url.Values, role *roleRec) {
	doc := f.Get("PolicyDocument")
	if !validPolicyJSON(doc) {
		sender(q, http.StatusBadRequest, "MalformedPolicyDocument", "This policy contains invalid Json")
		return
	}
	role.AssumeRolePolicy = doc
	r.commitLocked()
	respond(q, nil)
}

func (r *Room) putRolePolicy(q *core.Request, f url.Values, role *roleRec) {
	doc, pname := f.Get("PolicyDocument"), f.Get("PolicyName")
	if pname == "" || !roleNameRE.MatchString(pname) {
		sender(q, http.StatusBadRequest, "ValidationError", "1 validation error detected: Value at 'policyName' failed to satisfy constraint")
		return
	}
	if !validPolicyJSON(doc) {
		sender(q, http.StatusBadRequest, "MalformedPolicyDocument", "Syntax errors in policy.")
		return
	}
	role.Policies[pname] = doc
	r.commitLocked()
	respond(q, nil)
}

func getRolePolicy(q *core.Request, f url.Values, role *roleRec) {
	pname := f.Get("PolicyName")
	doc, ok := role.Policies[pname]
	if !ok {
		sender(q, http.StatusNotFound, "NoSuchEntity", "The role policy with name "+pname+" cannot be found.")
		return
	}
	respond(q, func(b *core.XMLBuf) {
		b.El("RoleName", role.Name)
		b.El("PolicyName", pname)
		b.El("PolicyDocument", core.AWSURLEncode(doc))
	})
}

func listRolePolicies(q *core.Request, f url.Values, role *roleRec) {
	pg, next := page(core.SortedKeys(role.Policies), f.Get("Marker"), maxItems(f))
	respond(q, func(b *core.XMLBuf) {
		b.Open("PolicyNames")
		for _, n := range pg {
			b.El("member", n)
		}
		b.End("PolicyNames")
		writePageEnd(b, next)
	})
}

func (r *Room) deleteRolePolicy(q *core.Request, f url.Values, role *roleRec) {
	pname := f.Get("PolicyName")
	if _, ok := role.Policies[pname]; !ok {
		sender(q, http.StatusNotFound, "NoSuchEntity", "The role policy with name "+pname+" cannot be found.")
		return
	}
	delete(role.Policies, pname)
	r.commitLocked()
	respond(q, nil)
}

func (r *Room) tagRole(q *core.Request, f url.Values, role *roleRec) {
	tags := formTags(f, "Tags")
	if len(tags)+len(role.Tags) > 50 {
		merged := core.CopyMap(role.Tags)
		for k, v := range tags {
			merged[k] = v
		}
		if len(merged) > 50 {
			sender(q, http.StatusConflict, "LimitExceeded", "The number of tags has reached the maximum limit.")
			return
		}
	}
	for k, v := range tags {
		role.Tags[k] = v
	}
	r.commitLocked()
	respond(q, nil)
}

func (r *Room) untagRole(q *core.Request, f url.Values, role *roleRec) {
	for _, k := range formList(f, "TagKeys") {
		delete(role.Tags, k)
	}
	r.commitLocked()
	respond(q, nil)
}

func listRoleTags(q *core.Request, f url.Values, role *roleRec) {
	pg, next := page(core.SortedKeys(role.Tags), f.Get("Marker"), maxItems(f))
	tags := map[string]string{}
	for _, k := range pg {
		tags[k] = role.Tags[k]
	}
	respond(q, func(b *core.XMLBuf) {
		writeTagMembers(b, tags)
		writePageEnd(b, next)
	})
}

// maxAttachedPerRole is IAM's default quota of managed policies per role.
const maxAttachedPerRole = 10

// managedPolicyARNRE matches a managed policy ARN: arn:aws:iam::aws:policy/PATH/NAME.
var managedPolicyARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(aws|\d{12}):policy/([\x21-\x7e]*/)?[\w+=,.@-]{1,128}$`)

// attachRolePolicy attaches an AWS managed policy (arn:aws:iam::aws:policy/...): the local
// cloud has no CreatePolicy, so a policy of the account does not exist.
func (r *Room) attachRolePolicy(q *core.Request, f url.Values, role *roleRec) {
	arn := f.Get("PolicyArn")
	if !managedPolicyARNRE.MatchString(arn) {
		sender(q, http.StatusBadRequest, "InvalidInput", "ARN "+arn+" is not valid.")
		return
	}
	if !strings.HasPrefix(arn, "arn:aws:iam::aws:policy/") {
		sender(q, http.StatusNotFound, "NoSuchEntity", "Policy "+arn+" does not exist or is not attachable.")
		return
	}
	if role.Attached == nil {
		role.Attached = map[string]bool{}
	}
	if !role.Attached[arn] && len(role.Attached) >= maxAttachedPerRole {
		sender(q, http.StatusConflict, "LimitExceeded", fmt.Sprintf("Cannot exceed quota for PoliciesPerRole: %d", maxAttachedPerRole))
		return
	}
	role.Attached[arn] = true
	r.commitLocked()
	respond(q, nil)
}

func (r *Room) detachRolePolicy(q *core.Request, f url.Values, role *roleRec) {
	arn := f.Get("PolicyArn")
	if !managedPolicyARNRE.MatchString(arn) {
		sender(q, http.StatusBadRequest, "InvalidInput", "ARN "+arn+" is not valid.")
		return
	}
	if !role.Attached[arn] {
		sender(q, http.StatusNotFound, "NoSuchEntity", "Policy "+arn+" was not found.")
		return
	}
	delete(role.Attached, arn)
	r.commitLocked()
	respond(q, nil)
}

func listAttachedRolePolicies(q *core.Request, f url.Values, role *roleRec) {
	prefix := pathPrefix(f)
	var arns []string
	for a := range role.Attached {
		if p, _ := policyPath(a); strings.HasPrefix(p, prefix) {
			arns = append(arns, a)
		}
	}
	sort.Strings(arns)
	pg, next := page(arns, f.Get("Marker"), maxItems(f))
	respond(q, func(b *core.XMLBuf) {
		b.Open("AttachedPolicies")
		for _, a := range pg {
			_, name := policyPath(a)
			b.WriteString("<member>")
			b.El("PolicyName", name)
			b.El("PolicyArn", a)
			b.WriteString("</member>")
		}
		b.End("AttachedPolicies")
		writePageEnd(b, next)
	})
}

// policyPath is the path of a managed policy ARN ("/service-role/"), name its last part.
func policyPath(arn string) (path, name string) {
	rest := arn[strings.Index(arn, ":policy/")+len(":policy"):]
	i := strings.LastIndex(rest, "/")
	return rest[:i+1], rest[i+1:]
}

func formTags(f url.Values, prefix string) map[string]string {
	tags := map[string]string{}
	for i := 1; ; i++ {
		k, ok := f[fmt.Sprintf("%s.member.%d.Key", prefix, i)]
		if !ok {
			break
		}
		tags[k[0]] = f.Get(fmt.Sprintf("%s.member.%d.Value", prefix, i))
	}
	return tags
}

func formList(f url.Values, prefix string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := f[fmt.Sprintf("%s.member.%d", prefix, i)]
		if !ok {
			break
		}
		out = append(out, v[0])
	}
	return out
}

func writeRole(b *core.XMLBuf, r *roleRec, withTags bool) {
	b.El("Path", r.Path)
	b.El("RoleName", r.Name)
	b.El("RoleId", r.ID)
	b.El("Arn", r.ARN)
	b.El("CreateDate", core.IsoTime(r.Created))
	b.El("AssumeRolePolicyDocument", core.AWSURLEncode(r.AssumeRolePolicy))
	if r.Description != "" {
		b.El("Description", r.Description)
	}
	b.El("MaxSessionDuration", strconv.Itoa(r.MaxSessionDuration))
	if withTags && len(r.Tags) > 0 {
		writeTagMembers(b, r.Tags)
	}
}

func writeTagMembers(b *core.XMLBuf, tags map[string]string) {
	b.Open("Tags")
	for _, k := range core.SortedKeys(tags) {
		b.WriteString("<member>")
		b.El("Key", k)
		b.El("Value", tags[k])
		b.WriteString("</member>")
	}
	b.End("Tags")
}

func validPolicyJSON(doc string) bool {
	var v map[string]any
	return json.Unmarshal([]byte(doc), &v) == nil
}

// page cuts a sorted list of names at marker (the first name to return) and max items.
func page(names []string, marker string, max int) (out []string, next string) {
	start := 0
	if marker != "" {
		start = sort.SearchStrings(names, marker)
	}
	if max <= 0 {
		max = 100
	}
	end := start + max
	if end < len(names) {
		return names[start:end], names[end]
	}
	return names[start:], ""
}

func maxItems(f url.Values) int {
	n, _ := strconv.Atoi(f.Get("MaxItems"))
	return n
}

// pathPrefix is IAM's PathPrefix parameter of the list calls ("/" when absent).
func pathPrefix(f url.Values) string {
	if p := f.Get("PathPrefix"); p != "" {
		return p
	}
	return "/"
}

// writePageEnd writes a paged IAM answer's IsTruncated, and the Marker of the next page when
// there is one.
func writePageEnd(b *core.XMLBuf, next string) {
	b.El("IsTruncated", strconv.FormatBool(next != ""))
	if next != "" {
		b.El("Marker", next)
	}
}
