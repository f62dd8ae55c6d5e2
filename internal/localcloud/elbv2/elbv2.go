// Package elbv2 is the local cloud's Elastic Load Balancing v2 (query protocol): application
// load balancers, target groups (target type ip) with active health checks and draining,
// and listeners. Each listener is a real HTTP reverse proxy bound on the load balancer's own
// loopback address (its DNSName, 127.77.N.M) and the listener's port.
package elbv2

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

const (
	ns        = "http://elasticloadbalancing.amazonaws.com/doc/2015-12-01/"
	stateFile = "elbv2.json"
)

type doc struct {
	LoadBalancers map[string]*lbRec       `json:"load_balancers"` // by ARN
	TargetGroups  map[string]*tgRec       `json:"target_groups"`
	Listeners     map[string]*listenerRec `json:"listeners"`
}

// Room is ELBv2.
type Room struct {
	cloud   *core.Cloud
	network core.Network
	ec2     ec2Extras
	mu      sync.Mutex
	st      doc

	started bool                      // the cloud listens: listeners serve, health checks run
	proxies map[string]*listenerProxy // by listener ARN
	stop    chan struct{}             // ends the health-check loop
	done    chan struct{}
	probes  sync.WaitGroup     // health checks under way
	cancel  context.CancelFunc // ends them
	ctx     context.Context
	rr      map[string]uint64 // round-robin counters by target group ARN
}

// ec2Extras are the lookups beyond core.Network that the EC2 room offers.
type ec2Extras interface {
	DefaultSecurityGroup(region, vpcID string) (string, bool)
	SubnetAZ(region, subnetID string) (string, bool)
}

// New returns the ELBv2 room.
func New() *Room { return &Room{} }

// Name is the SigV4 service name of ELBv2.
func (*Room) Name() string { return "elasticloadbalancing" }

func (r *Room) Open(c *core.Cloud) error {
	r.cloud = c
	r.network = core.Peer[core.Network](c)
	r.ec2 = core.Peer[ec2Extras](c)
	r.st = doc{}
	r.proxies = map[string]*listenerProxy{}
	r.rr = map[string]uint64{}
	if err := c.LoadDoc(stateFile, &r.st, false); err != nil {
		return err
	}
	if r.st.LoadBalancers == nil {
		r.st.LoadBalancers = map[string]*lbRec{}
	}
	if r.st.TargetGroups == nil {
		r.st.TargetGroups = map[string]*tgRec{}
	}
	if r.st.Listeners == nil {
		r.st.Listeners = map[string]*listenerRec{}
	}
	return nil
}

// Start binds every listener's proxy and starts the health checks, once the cloud listens.
func (r *Room) Start() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.started = true
	for _, l := range r.st.Listeners {
		if err := r.startProxyLocked(l); err != nil {
			r.cloud.Logf("elbv2: listener %s: %v", l.ARN, err)
		}
	}
	r.stop, r.done = make(chan struct{}), make(chan struct{})
	r.ctx, r.cancel = context.WithCancel(context.Background())
	go r.healthLoop(r.stop, r.done)
}

// Close stops the proxies and the health checks.
func (r *Room) Close() {
	r.mu.Lock()
	stop, done := r.stop, r.done
	r.stop = nil
	r.started = false
	for arn := range r.proxies {
		r.stopProxyLocked(arn)
	}
	r.mu.Unlock()
	if stop != nil {
		close(stop)
		<-done
		// No check may record (and save) after the cloud closed.
		r.cancel()
		r.probes.Wait()
	}
}

func (r *Room) Save() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cloud.SaveDoc(stateFile, &r.st)
}

func (r *Room) commitLocked() {
	r.cloud.CommitDoc(stateFile, &r.st)
}

// Resources lists tagged load balancers, target groups and listeners.
func (r *Room) Resources(match func(map[string]string) bool) []core.Resource {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []core.Resource
	for _, lb := range r.st.LoadBalancers {
		if match(lb.Tags) {
			out = append(out, core.Resource{Service: "elasticloadbalancing", Type: "loadbalancer", Name: lb.Name, ARN: lb.ARN, Tags: core.CopyMap(lb.Tags)})
		}
	}
	for _, tg := range r.st.TargetGroups {
		if match(tg.Tags) {
			out = append(out, core.Resource{Service: "elasticloadbalancing", Type: "targetgroup", Name: tg.Name, ARN: tg.ARN, Tags: core.CopyMap(tg.Tags)})
		}
	}
	for _, l := range r.st.Listeners {
		if match(l.Tags) {
			out = append(out, core.Resource{Service: "elasticloadbalancing", Type: "listener", Name: l.ARN[len(l.ARN)-16:], ARN: l.ARN, Tags: core.CopyMap(l.Tags)})
		}
	}
	return out
}

func (*Room) Route(q *core.Request) (string, bool) { return q.QueryAction(ns) }

func (*Room) Unknown(q *core.Request) {
	fail(q, "InvalidAction", "localcloud does not implement Elastic Load Balancing "+q.Op)
}

func (*Room) Throttle(q *core.Request) { fail(q, "Throttling", "Rate exceeded") }

func (*Room) Fail(q *core.Request) {
	q.QueryError(ns, http.StatusInternalServerError, "InternalFailure", "Receiver", "localcloud: injected fault")
}

// fail answers a client error (ELBv2 answers all of them 400).
func fail(q *core.Request, code, msg string) {
	q.QueryError(ns, http.StatusBadRequest, code, "Sender", msg)
}

func invalid(q *core.Request, msg string) { fail(q, "ValidationError", msg) }

func respond(q *core.Request, body func(b *core.XMLBuf)) {
	if body == nil {
		body = func(*core.XMLBuf) {}
	}
	q.QueryResponse(ns, q.Op, body)
}

// Ops is ELBv2's operation table.
func (r *Room) Ops() []core.Op {
	return []core.Op{
		core.Write("CreateLoadBalancer", r.locked(r.createLoadBalancer)),
		core.Read("DescribeLoadBalancers", r.locked(r.describeLoadBalancers)),
		core.Write("DeleteLoadBalancer", r.locked(r.deleteLoadBalancer)),
		core.Write("ModifyLoadBalancerAttributes", r.locked(r.modifyAttributes(r.lbAttributes, lbAttributeChecks, "Load balancer"))),
		core.Read("DescribeLoadBalancerAttributes", r.locked(describeAttributes(r.lbAttributes))),
		core.Write("SetSecurityGroups", r.locked(r.setSecurityGroups)),
		core.Write("CreateTargetGroup", r.locked(r.createTargetGroup)),
		core.Read("DescribeTargetGroups", r.locked(r.describeTargetGroups)),
		core.Write("ModifyTargetGroup", r.locked(r.modifyTargetGroup)),
		core.Write("DeleteTargetGroup", r.locked(r.deleteTargetGroup)),
		core.Write("ModifyTargetGroupAttributes", r.locked(r.modifyAttributes(r.tgAttributes, tgAttributeChecks, "Target group"))),
		core.Read("DescribeTargetGroupAttributes", r.locked(describeAttributes(r.tgAttributes))),
		core.Write("RegisterTargets", r.locked(r.registerTargets)),
		core.Write("DeregisterTargets", r.locked(r.deregisterTargets)),
		core.Read("DescribeTargetHealth", r.locked(r.describeTargetHealth)),
		core.Write("CreateListener", r.locked(r.createListener)),
		core.Read("DescribeListeners", r.locked(r.describeListeners)),
		core.Write("ModifyListener", r.locked(r.modifyListener)),
		core.Write("DeleteListener", r.locked(r.deleteListener)),
		core.Write("AddTags", r.locked(r.addTags)),
		core.Write("RemoveTags", r.locked(r.removeTags)),
		core.Read("DescribeTags", r.locked(r.describeTags)),
	}
}

func (r *Room) locked(h func(q *core.Request, f url.Values)) func(*core.Request) {
	return func(q *core.Request) {
		r.mu.Lock()
		defer r.mu.Unlock()
		h(q, q.R.Form)
	}
}

// members is a query list "Prefix.member.N".
func members(f url.Values, prefix string) []string { return core.FormList(f, prefix+".member") }

// memberKeys are the item prefixes of a list of structures.
func memberKeys(f url.Values, prefix string) []string {
	return core.FormIndexes(f, prefix+".member")
}

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// newARNID is the 16 hex digits that end an ELBv2 ARN.
func newARNID() string { return core.NewRequestID()[19:23] + core.NewRequestID()[24:36] }

// page answers Marker/PageSize paging over n items.
func page(f url.Values, n int) (start, end int, next string) {
	return core.PageIndex(n, f.Get("Marker"), f.Get("PageSize"), 400)
}

// respondPage answers the page of items the request's Marker/PageSize ask for (write
// writes them), with the NextMarker of the rest.
func respondPage[T any](q *core.Request, f url.Values, items []T, write func(*core.XMLBuf, []T)) {
	start, end, next := page(f, len(items))
	respond(q, func(b *core.XMLBuf) {
		write(b, items[start:end])
		if next != "" {
			b.El("NextMarker", next)
		}
	})
}

// lookupAll finds the resource of each key (an ARN or a name); the first missing one is
// answered (code, notFound(key): false).
func lookupAll[T any](q *core.Request, keys []string, find func(string) *T, code string, notFound func(string) string) ([]*T, bool) {
	var out []*T
	for _, k := range keys {
		v := find(k)
		if v == nil {
			fail(q, code, notFound(k))
			return nil, false
		}
		out = append(out, v)
	}
	return out, true
}

// --- Tags on any resource.

func (r *Room) tagsOf(arn string) (map[string]string, bool) {
	if lb := r.st.LoadBalancers[arn]; lb != nil {
		return lb.Tags, true
	}
	if tg := r.st.TargetGroups[arn]; tg != nil {
		return tg.Tags, true
	}
	if l := r.st.Listeners[arn]; l != nil {
		return l.Tags, true
	}
	return nil, false
}

// taggable: every ARN names a resource of the room (else the first that does not is
// answered as not found: false).
func (r *Room) taggable(q *core.Request, arns []string) bool {
	for _, arn := range arns {
		if _, ok := r.tagsOf(arn); !ok {
			notFoundARN(q, arn)
			return false
		}
	}
	return true
}

// notFoundARN answers the not-found error of an ARN's resource type.
func notFoundARN(q *core.Request, arn string) {
	switch {
	case strings.Contains(arn, ":targetgroup/"):
		fail(q, "TargetGroupNotFound", "Target groups '"+arn+"' not found")
	case strings.Contains(arn, ":listener/"):
		fail(q, "ListenerNotFound", "Listener '"+arn+"' not found")
	default:
		fail(q, "LoadBalancerNotFound", "Load balancer '"+arn+"' not found")
	}
}

// formTags reads Tags.member.N.Key/Value; a bad key is answered (false).
func formTags(q *core.Request, f url.Values) (map[string]string, bool) {
	tags := map[string]string{}
	for _, p := range memberKeys(f, "Tags") {
		k := f.Get(p + ".Key")
		if k == "" || len(k) > 128 || len(f.Get(p+".Value")) > 256 || len(k) >= 4 && k[:4] == "aws:" {
			invalid(q, "Tag key '"+k+"' is not valid: 1-128 characters, values up to 256, no aws: prefix")
			return nil, false
		}
		tags[k] = f.Get(p + ".Value")
	}
	return tags, true
}

func (r *Room) addTags(q *core.Request, f url.Values) {
	arns := members(f, "ResourceArns")
	tags, ok := formTags(q, f)
	if !ok || !r.taggable(q, arns) {
		return
	}
	for _, arn := range arns {
		m, _ := r.tagsOf(arn)
		if len(m)+len(tags) > 50 {
			fail(q, "TooManyTags", "The quota for the number of tags that can be assigned to a load balancer has been reached")
			return
		}
	}
	for _, arn := range arns {
		m, _ := r.tagsOf(arn)
		for k, v := range tags {
			m[k] = v
		}
	}
	r.commitLocked()
	respond(q, nil)
}

func (r *Room) removeTags(q *core.Request, f url.Values) {
	arns := members(f, "ResourceArns")
	if !r.taggable(q, arns) {
		return
	}
	for _, arn := range arns {
		m, _ := r.tagsOf(arn)
		for _, k := range members(f, "TagKeys") {
			delete(m, k)
		}
	}
	r.commitLocked()
	respond(q, nil)
}

func (r *Room) describeTags(q *core.Request, f url.Values) {
	arns := members(f, "ResourceArns")
	if !r.taggable(q, arns) {
		return
	}
	respond(q, func(b *core.XMLBuf) {
		b.Open("TagDescriptions")
		for _, arn := range arns {
			m, _ := r.tagsOf(arn)
			b.Open("member")
			b.El("ResourceArn", arn)
			writeTags(b, m)
			b.End("member")
		}
		b.End("TagDescriptions")
	})
}

func writeTags(b *core.XMLBuf, tags map[string]string) { writeKeyValues(b, "Tags", tags) }

// writeAttributes writes Attributes/member{Key,Value} in key order.
func writeAttributes(b *core.XMLBuf, attrs map[string]string) { writeKeyValues(b, "Attributes", attrs) }

// writeKeyValues writes <list>/member{Key,Value} in key order.
func writeKeyValues(b *core.XMLBuf, list string, m map[string]string) {
	b.Open(list)
	for _, k := range core.SortedKeys(m) {
		b.Open("member")
		b.El("Key", k)
		b.El("Value", m[k])
		b.End("member")
	}
	b.End(list)
}

// attributesOf finds the attributes of the resource a request names (false: answered).
type attributesOf func(q *core.Request, f url.Values) (map[string]string, bool)

// modifyAttributes sets the request's attributes (each checked against known; what names
// the resource type in errors) and answers them all.
func (r *Room) modifyAttributes(of attributesOf, known map[string]func(string) bool, what string) func(*core.Request, url.Values) {
	return func(q *core.Request, f url.Values) {
		attrs, ok := of(q, f)
		if !ok {
			return
		}
		set, ok := formAttributes(q, f, known, what)
		if !ok {
			return
		}
		for k, v := range set {
			attrs[k] = v
		}
		r.commitLocked()
		respond(q, func(b *core.XMLBuf) { writeAttributes(b, attrs) })
	}
}

func describeAttributes(of attributesOf) func(*core.Request, url.Values) {
	return func(q *core.Request, f url.Values) {
		if attrs, ok := of(q, f); ok {
			respond(q, func(b *core.XMLBuf) { writeAttributes(b, attrs) })
		}
	}
}

// arg finds the resource of ARN arn in m; a missing one is answered (code, message: nil).
func arg[T any](q *core.Request, m map[string]*T, arn, code, message string) *T {
	v := m[arn]
	if v == nil {
		fail(q, code, message)
	}
	return v
}

// formAttributes reads Attributes.member.N.Key/Value, checking each key is known and its
// value valid; false = answered.
func formAttributes(q *core.Request, f url.Values, known map[string]func(string) bool, what string) (map[string]string, bool) {
	out := map[string]string{}
	for _, p := range memberKeys(f, "Attributes") {
		k, v := f.Get(p+".Key"), f.Get(p+".Value")
		check, ok := known[k]
		if !ok {
			invalid(q, what+" attribute key '"+k+"' is not recognized")
			return nil, false
		}
		if check != nil && !check(v) {
			invalid(q, what+" attribute '"+k+"' cannot have the value '"+v+"'")
			return nil, false
		}
		out[k] = v
	}
	if len(out) == 0 {
		invalid(q, "At least one attribute must be specified")
		return nil, false
	}
	return out, true
}
