package localcloud

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

const (
	iamNS = "https://iam.amazonaws.com/doc/2010-05-08/"
	stsNS = "https://sts.amazonaws.com/doc/2011-06-15/"
)

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

// maxAttachedPerRole is IAM's default quota of managed policies per role.
const maxAttachedPerRole = 10

// managedPolicyARNRE matches a managed policy ARN: arn:aws:iam::aws:policy/PATH/NAME.
var managedPolicyARNRE = regexp.MustCompile(`^arn:aws[a-z-]*:iam::(aws|\d{12}):policy/([\x21-\x7e]*/)?[\w+=,.@-]{1,128}$`)

// policyPath is the path of a managed policy ARN ("/service-role/"), name its last part.
func policyPath(arn string) (path, name string) {
	rest := arn[strings.Index(arn, ":policy/")+len(":policy"):]
	i := strings.LastIndex(rest, "/")
	return rest[:i+1], rest[i+1:]
}

// xmlBuf builds small XML documents.
type xmlBuf struct{ strings.Builder }

func (b *xmlBuf) el(name, value string) {
	b.WriteString("<" + name + ">")
	b.esc(value)
	b.WriteString("</" + name + ">")
}

func (b *xmlBuf) open(name string)  { b.WriteString("<" + name + ">") }
func (b *xmlBuf) close(name string) { b.WriteString("</" + name + ">") }

func (b *xmlBuf) esc(s string) {
	for _, r := range s {
		switch r {
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '"':
			b.WriteString("&quot;")
		case '\'':
			b.WriteString("&apos;")
		case '\r':
			b.WriteString("&#xD;")
		default:
			b.WriteRune(r)
		}
	}
}

// awsURLEncode encodes a policy document the way IAM returns it.
func awsURLEncode(s string) string {
	return strings.ReplaceAll(url.QueryEscape(s), "+", "%20")
}

func (q *request) queryNS() string {
	if q.service == "sts" {
		return stsNS
	}
	return iamNS
}

func (q *request) queryResponse(action string, body func(b *xmlBuf)) {
	var b xmlBuf
	b.WriteString(`<` + action + `Response xmlns="` + q.queryNS() + `">`)
	if body != nil {
		b.open(action + "Result")
		body(&b)
		b.close(action + "Result")
	}
	b.WriteString("<ResponseMetadata><RequestId>" + q.requestID + "</RequestId></ResponseMetadata>")
	b.close(action + "Response")
	q.w.Header().Set("Content-Type", "text/xml")
	q.w.WriteHeader(http.StatusOK)
	q.status = http.StatusOK
	_, _ = q.w.Write([]byte(b.String()))
}

func (q *request) queryError(status int, code, msg string) {
	q.queryErrorType(status, code, "Sender", msg)
}

func (q *request) queryErrorType(status int, code, typ, msg string) {
	var b xmlBuf
	b.WriteString(`<ErrorResponse xmlns="` + q.queryNS() + `"><Error>`)
	b.el("Type", typ)
	b.el("Code", code)
	b.el("Message", msg)
	b.WriteString("</Error>")
	b.el("RequestId", q.requestID)
	b.WriteString("</ErrorResponse>")
	q.w.Header().Set("Content-Type", "text/xml")
	q.w.WriteHeader(status)
	q.status = status
	_, _ = q.w.Write([]byte(b.String()))
}

func (c *Cloud) serveQuery(q *request) {
	if err := q.r.ParseForm(); err != nil {
		q.op = "?"
		q.queryError(http.StatusBadRequest, "MalformedQueryString", err.Error())
		return
	}
	action := q.r.Form.Get("Action")
	if action == "" {
		q.op = "?"
		q.queryError(http.StatusBadRequest, "MissingAction", "Missing Action")
		return
	}
	if !q.begin(action) {
		return
	}
	if q.service == "sts" {
		switch action {
		case "GetCallerIdentity":
			q.queryResponse(action, func(b *xmlBuf) {
				b.el("Arn", "arn:aws:iam::"+AccountID+":root")
				b.el("UserId", AccountID)
				b.el("Account", AccountID)
			})
		default:
			q.queryError(http.StatusBadRequest, "InvalidAction", "Could not find operation "+action+" for version 2011-06-15")
		}
		return
	}
	c.serveIAM(q, action, q.r.Form)
}

var roleNameRE = regexp.MustCompile(`^[\w+=,.@-]{1,64}$`)

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

func writeRole(b *xmlBuf, r *roleRec, withTags bool) {
	b.el("Path", r.Path)
	b.el("RoleName", r.Name)
	b.el("RoleId", r.ID)
	b.el("Arn", r.ARN)
	b.el("CreateDate", isoTime(r.Created))
	b.el("AssumeRolePolicyDocument", awsURLEncode(r.AssumeRolePolicy))
	if r.Description != "" {
		b.el("Description", r.Description)
	}
	b.el("MaxSessionDuration", strconv.Itoa(r.MaxSessionDuration))
	if withTags && len(r.Tags) > 0 {
		writeTagMembers(b, r.Tags)
	}
}

func writeTagMembers(b *xmlBuf, tags map[string]string) {
	b.open("Tags")
	for _, k := range sortedKeys(tags) {
		b.WriteString("<member>")
		b.el("Key", k)
		b.el("Value", tags[k])
		b.WriteString("</member>")
	}
	b.close("Tags")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
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

func (c *Cloud) serveIAM(q *request, action string, f url.Values) {
	c.mu.Lock()
	defer c.mu.Unlock()
	name := f.Get("RoleName")
	getRole := func() *roleRec {
		r := c.st.Roles[name]
		if r == nil {
			q.queryError(http.StatusNotFound, "NoSuchEntity", "The role with name "+name+" cannot be found.")
		}
		return r
	}
	maxItems, _ := strconv.Atoi(f.Get("MaxItems"))
	switch action {
	case "CreateRole":
		if !roleNameRE.MatchString(name) {
			q.queryError(http.StatusBadRequest, "ValidationError", "1 validation error detected: Value at 'roleName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+")
			return
		}
		if c.st.Roles[name] != nil {
			q.queryError(http.StatusConflict, "EntityAlreadyExists", "Role with name "+name+" already exists.")
			return
		}
		doc := f.Get("AssumeRolePolicyDocument")
		if doc == "" {
			q.queryError(http.StatusBadRequest, "ValidationError", "1 validation error detected: Value null at 'assumeRolePolicyDocument' failed to satisfy constraint: Member must not be null")
			return
		}
		if !validPolicyJSON(doc) {
			q.queryError(http.StatusBadRequest, "MalformedPolicyDocument", "This policy contains invalid Json")
			return
		}
		path := f.Get("Path")
		if path == "" {
			path = "/"
		}
		if !strings.HasPrefix(path, "/") || !strings.HasSuffix(path, "/") {
			q.queryError(http.StatusBadRequest, "ValidationError", "The specified value for path is invalid. It must begin and end with / and contain only alphanumeric characters and/or / characters.")
			return
		}
		msd, _ := strconv.Atoi(f.Get("MaxSessionDuration"))
		if msd == 0 {
			msd = 3600
		}
		r := &roleRec{
			Name: name, Path: path, ARN: "arn:aws:iam::" + AccountID + ":role" + path + name,
			ID: "AROA" + strings.ToUpper(randomID(17)), Created: time.Now().UTC(),
			AssumeRolePolicy: doc, Description: f.Get("Description"), MaxSessionDuration: msd,
			Tags: formTags(f, "Tags"), Policies: map[string]string{},
		}
		c.st.Roles[name] = r
		c.commitLocked()
		q.queryResponse(action, func(b *xmlBuf) { b.open("Role"); writeRole(b, r, true); b.close("Role") })
	case "GetRole":
		if r := getRole(); r != nil {
			q.queryResponse(action, func(b *xmlBuf) { b.open("Role"); writeRole(b, r, true); b.close("Role") })
		}
	case "DeleteRole":
		r := getRole()
		if r == nil {
			return
		}
		if len(r.Policies) > 0 {
			q.queryError(http.StatusConflict, "DeleteConflict", "Cannot delete entity, must delete policies first.")
			return
		}
		if len(r.Attached) > 0 {
			q.queryError(http.StatusConflict, "DeleteConflict", "Cannot delete entity, must detach all policies first.")
			return
		}
		delete(c.st.Roles, name)
		c.commitLocked()
		q.queryResponse(action, nil)
	case "ListRoles":
		prefix := pathPrefix(f)
		var names []string
		for n, r := range c.st.Roles {
			if strings.HasPrefix(r.Path, prefix) {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		pg, next := page(names, f.Get("Marker"), maxItems)
		q.queryResponse(action, func(b *xmlBuf) {
			b.open("Roles")
			for _, n := range pg {
				b.WriteString("<member>")
				writeRole(b, c.st.Roles[n], false)
				b.WriteString("</member>")
			}
			b.close("Roles")
			writePageEnd(b, next)
		})
	case "UpdateAssumeRolePolicy":
		r := getRole()
		if r == nil {
			return
		}
		doc := f.Get("PolicyDocument")
		if !validPolicyJSON(doc) {
			q.queryError(http.StatusBadRequest, "MalformedPolicyDocument", "This policy contains invalid Json")
			return
		}
		r.AssumeRolePolicy = doc
		c.commitLocked()
		q.queryResponse(action, nil)
	case "PutRolePolicy":
		r := getRole()
		if r == nil {
			return
		}
		doc, pname := f.Get("PolicyDocument"), f.Get("PolicyName")
		if pname == "" || !roleNameRE.MatchString(pname) {
			q.queryError(http.StatusBadRequest, "ValidationError", "1 validation error detected: Value at 'policyName' failed to satisfy constraint")
			return
		}
		if !validPolicyJSON(doc) {
			q.queryError(http.StatusBadRequest, "MalformedPolicyDocument", "Syntax errors in policy.")
			return
		}
		r.Policies[pname] = doc
		c.commitLocked()
		q.queryResponse(action, nil)
	case "GetRolePolicy":
		r := getRole()
		if r == nil {
			return
		}
		pname := f.Get("PolicyName")
		doc, ok := r.Policies[pname]
		if !ok {
			q.queryError(http.StatusNotFound, "NoSuchEntity", "The role policy with name "+pname+" cannot be found.")
			return
		}
		q.queryResponse(action, func(b *xmlBuf) {
			b.el("RoleName", r.Name)
			b.el("PolicyName", pname)
			b.el("PolicyDocument", awsURLEncode(doc))
		})
	case "ListRolePolicies":
		r := getRole()
		if r == nil {
			return
		}
		pg, next := page(sortedKeys(r.Policies), f.Get("Marker"), maxItems)
		q.queryResponse(action, func(b *xmlBuf) {
			b.open("PolicyNames")
			for _, n := range pg {
				b.el("member", n)
			}
			b.close("PolicyNames")
			writePageEnd(b, next)
		})
	case "DeleteRolePolicy":
		r := getRole()
		if r == nil {
			return
		}
		pname := f.Get("PolicyName")
		if _, ok := r.Policies[pname]; !ok {
			q.queryError(http.StatusNotFound, "NoSuchEntity", "The role policy with name "+pname+" cannot be found.")
			return
		}
		delete(r.Policies, pname)
		c.commitLocked()
		q.queryResponse(action, nil)
	case "TagRole":
		r := getRole()
		if r == nil {
			return
		}
		tags := formTags(f, "Tags")
		if len(tags)+len(r.Tags) > 50 {
			merged := copyMap(r.Tags)
			for k, v := range tags {
				merged[k] = v
			}
			if len(merged) > 50 {
				q.queryError(http.StatusConflict, "LimitExceeded", "The number of tags has reached the maximum limit.")
				return
			}
		}
		for k, v := range tags {
			r.Tags[k] = v
		}
		c.commitLocked()
		q.queryResponse(action, nil)
	case "UntagRole":
		r := getRole()
		if r == nil {
			return
		}
		for _, k := range formList(f, "TagKeys") {
			delete(r.Tags, k)
		}
		c.commitLocked()
		q.queryResponse(action, nil)
	case "ListRoleTags":
		r := getRole()
		if r == nil {
			return
		}
		pg, next := page(sortedKeys(r.Tags), f.Get("Marker"), maxItems)
		tags := map[string]string{}
		for _, k := range pg {
			tags[k] = r.Tags[k]
		}
		q.queryResponse(action, func(b *xmlBuf) {
			writeTagMembers(b, tags)
			writePageEnd(b, next)
		})
	case "AttachRolePolicy", "DetachRolePolicy", "ListAttachedRolePolicies":
		r := getRole()
		if r == nil {
			return
		}
		c.iamManagedPolicies(q, action, r, f, maxItems)
	default:
		q.queryError(http.StatusBadRequest, "InvalidAction", "localcloud does not implement IAM "+action)
	}
}

// iamManagedPolicies attaches, detaches and lists the managed policies of a role. Only
// AWS managed policies (arn:aws:iam::aws:policy/...) can be attached: the local cloud has
// no CreatePolicy, so a policy of the account does not exist. c.mu must be held.
func (c *Cloud) iamManagedPolicies(q *request, action string, r *roleRec, f url.Values, maxItems int) {
	arn := f.Get("PolicyArn")
	switch action {
	case "AttachRolePolicy":
		if !managedPolicyARNRE.MatchString(arn) {
			q.queryError(http.StatusBadRequest, "InvalidInput", "ARN "+arn+" is not valid.")
			return
		}
		if !strings.HasPrefix(arn, "arn:aws:iam::aws:policy/") {
			q.queryError(http.StatusNotFound, "NoSuchEntity", "Policy "+arn+" does not exist or is not attachable.")
			return
		}
		if r.Attached == nil {
			r.Attached = map[string]bool{}
		}
		if !r.Attached[arn] && len(r.Attached) >= maxAttachedPerRole {
			q.queryError(http.StatusConflict, "LimitExceeded", fmt.Sprintf("Cannot exceed quota for PoliciesPerRole: %d", maxAttachedPerRole))
			return
		}
		r.Attached[arn] = true
		c.commitLocked()
		q.queryResponse(action, nil)
	case "DetachRolePolicy":
		if !managedPolicyARNRE.MatchString(arn) {
			q.queryError(http.StatusBadRequest, "InvalidInput", "ARN "+arn+" is not valid.")
			return
		}
		if !r.Attached[arn] {
			q.queryError(http.StatusNotFound, "NoSuchEntity", "Policy "+arn+" was not found.")
			return
		}
		delete(r.Attached, arn)
		c.commitLocked()
		q.queryResponse(action, nil)
	case "ListAttachedRolePolicies":
		prefix := pathPrefix(f)
		var arns []string
		for a := range r.Attached {
			if p, _ := policyPath(a); strings.HasPrefix(p, prefix) {
				arns = append(arns, a)
			}
		}
		sort.Strings(arns)
		pg, next := page(arns, f.Get("Marker"), maxItems)
		q.queryResponse(action, func(b *xmlBuf) {
			b.open("AttachedPolicies")
			for _, a := range pg {
				_, name := policyPath(a)
				b.WriteString("<member>")
				b.el("PolicyName", name)
				b.el("PolicyArn", a)
				b.WriteString("</member>")
			}
			b.close("AttachedPolicies")
			writePageEnd(b, next)
		})
	}
}

// roleUsable is the Lambda-side check of a role ARN: it must exist and be older than
// the propagation delay. c.mu must be held.
func (c *Cloud) roleUsable(arn string) bool {
	i := strings.LastIndex(arn, "/")
	if !strings.HasPrefix(arn, "arn:aws:iam::") || i < 0 {
		return false
	}
	r := c.st.Roles[arn[i+1:]]
	if r == nil || r.ARN != arn {
		return false
	}
	return time.Since(r.Created) >= c.delays.RolePropagation
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
func writePageEnd(b *xmlBuf, next string) {
	b.el("IsTruncated", strconv.FormatBool(next != ""))
	if next != "" {
		b.el("Marker", next)
	}
}
