package elbv2

import (
	"fmt"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

type tgRec struct {
	ARN         string            `json:"arn"`
	Name        string            `json:"name"`
	Region      string            `json:"region"`
	Protocol    string            `json:"protocol"`
	Port        int               `json:"port"`
	VpcID       string            `json:"vpc_id"`
	TargetType  string            `json:"target_type"`
	HealthCheck healthCheck       `json:"health_check"`
	Attributes  map[string]string `json:"attributes"`
	Tags        map[string]string `json:"tags"`
	Targets     []*targetRec      `json:"targets"`
}

type healthCheck struct {
	Enabled   bool   `json:"enabled"`
	Protocol  string `json:"protocol"`
	Port      string `json:"port"` // "traffic-port" or a number
	Path      string `json:"path"`
	Interval  int    `json:"interval"`
	Timeout   int    `json:"timeout"`
	Healthy   int    `json:"healthy"`
	Unhealthy int    `json:"unhealthy"`
	Matcher   string `json:"matcher"` // "200", "200-299", "200,204"
}

// targetRec is a registered target and its health as the checks left it.
type targetRec struct {
	IP         string    `json:"ip"`
	Port       int       `json:"port"`
	AZ         string    `json:"az,omitempty"`
	State      string    `json:"state"` // initial, healthy, unhealthy, draining
	Reason     string    `json:"reason,omitempty"`
	Detail     string    `json:"detail,omitempty"`
	Registered time.Time `json:"registered"`
	DrainUntil time.Time `json:"drain_until,omitzero"`

	// The checks' run: consecutive results and the next check (not persisted).
	okRun, failRun int
	nextCheck      time.Time
	checking       bool
}

func (t *targetRec) addr() string { return net.JoinHostPort(t.IP, strconv.Itoa(t.Port)) }

func (t *targetRec) setState(state, reason, detail string) {
	t.State, t.Reason, t.Detail = state, reason, detail
	t.okRun, t.failRun = 0, 0
}

// tgAttributes are a target group's attributes with their defaults.
var tgAttributes = map[string]string{
	"deregistration_delay.timeout_seconds":                                           "300",
	"load_balancing.algorithm.type":                                                  "round_robin",
	"load_balancing.algorithm.anomaly_mitigation":                                    "off",
	"load_balancing.cross_zone.enabled":                                              "use_load_balancer_configuration",
	"slow_start.duration_seconds":                                                    "0",
	"stickiness.enabled":                                                             "false",
	"stickiness.type":                                                                "lb_cookie",
	"stickiness.lb_cookie.duration_seconds":                                          "86400",
	"stickiness.app_cookie.cookie_name":                                              "",
	"stickiness.app_cookie.duration_seconds":                                         "86400",
	"target_group_health.dns_failover.minimum_healthy_targets.count":                 "1",
	"target_group_health.dns_failover.minimum_healthy_targets.percentage":            "off",
	"target_group_health.unhealthy_state_routing.minimum_healthy_targets.count":      "1",
	"target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage": "off",
}

var tgAttributeChecks = map[string]func(string) bool{
	"deregistration_delay.timeout_seconds":                                           intCheck(0, 3600),
	"load_balancing.algorithm.type":                                                  oneOf("round_robin", "least_outstanding_requests", "weighted_random"),
	"load_balancing.algorithm.anomaly_mitigation":                                    oneOf("on", "off"),
	"load_balancing.cross_zone.enabled":                                              oneOf("true", "false", "use_load_balancer_configuration"),
	"slow_start.duration_seconds":                                                    func(v string) bool { return v == "0" || intCheck(30, 900)(v) },
	"stickiness.enabled":                                                             boolCheck,
	"stickiness.type":                                                                oneOf("lb_cookie", "app_cookie"),
	"stickiness.lb_cookie.duration_seconds":                                          intCheck(1, 604800),
	"stickiness.app_cookie.cookie_name":                                              anyValue,
	"stickiness.app_cookie.duration_seconds":                                         intCheck(1, 604800),
	"target_group_health.dns_failover.minimum_healthy_targets.count":                 anyValue,
	"target_group_health.dns_failover.minimum_healthy_targets.percentage":            anyValue,
	"target_group_health.unhealthy_state_routing.minimum_healthy_targets.count":      anyValue,
	"target_group_health.unhealthy_state_routing.minimum_healthy_targets.percentage": anyValue,
}

func (tg *tgRec) deregistrationDelay() time.Duration {
	n, _ := strconv.Atoi(tg.Attributes["deregistration_delay.timeout_seconds"])
	return time.Duration(n) * time.Second
}

var tgNameRE = lbNameRE

var matcherRE = regexp.MustCompile(`^\d{3}(-\d{3})?(,\d{3}(-\d{3})?)*$`)

// applyHealthCheck reads the health check parameters of Create/ModifyTargetGroup into hc.
// The local cloud accepts intervals and timeouts from 1 second (AWS: 5 and 2) so tests
// see a target change state quickly; false = answered.
func applyHealthCheck(q *core.Request, f url.Values, hc *healthCheck) bool {
	if v := f.Get("HealthCheckEnabled"); v != "" {
		hc.Enabled = v == "true"
	}
	if v := f.Get("HealthCheckProtocol"); v != "" {
		if v != "HTTP" && v != "HTTPS" {
			invalid(q, "Health check protocol '"+v+"' is not supported for application load balancer target groups")
			return false
		}
		hc.Protocol = v
	}
	if v := f.Get("HealthCheckPort"); v != "" {
		if v != "traffic-port" && !intCheck(1, 65535)(v) {
			invalid(q, "Health check port '"+v+"' is not valid: 1-65535 or traffic-port")
			return false
		}
		hc.Port = v
	}
	if v := f.Get("HealthCheckPath"); v != "" {
		if !strings.HasPrefix(v, "/") || len(v) > 1024 {
			invalid(q, "Health check path '"+v+"' must start with '/' and be at most 1024 characters")
			return false
		}
		hc.Path = v
	}
	ints := []struct {
		key    string
		lo, hi int
		dst    *int
	}{
		{"HealthCheckIntervalSeconds", 1, 300, &hc.Interval},
		{"HealthCheckTimeoutSeconds", 1, 120, &hc.Timeout},
		{"HealthyThresholdCount", 2, 10, &hc.Healthy},
		{"UnhealthyThresholdCount", 2, 10, &hc.Unhealthy},
	}
	for _, x := range ints {
		if v := f.Get(x.key); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < x.lo || n > x.hi {
				invalid(q, x.key+" must be between "+strconv.Itoa(x.lo)+" and "+strconv.Itoa(x.hi)+", not '"+v+"'")
				return false
			}
			*x.dst = n
		}
	}
	if hc.Timeout > hc.Interval {
		invalid(q, "Health check timeout '"+strconv.Itoa(hc.Timeout)+"' must be smaller than the interval '"+strconv.Itoa(hc.Interval)+"'")
		return false
	}
	if v := f.Get("Matcher.HttpCode"); v != "" {
		if !matcherRE.MatchString(v) {
			invalid(q, "Health check matcher HTTP code '"+v+"' is not valid: codes 200-499 as 200, 200,202 or 200-299")
			return false
		}
		hc.Matcher = v
	}
	return true
}

// matchCode is the health check matcher: "200", "200,202", "200-299".
func matchCode(matcher string, code int) bool {
	for _, part := range strings.Split(matcher, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, _ := strconv.Atoi(lo)
		b := a
		if isRange {
			b, _ = strconv.Atoi(hi)
		}
		if code >= a && code <= b {
			return true
		}
	}
	return false
}

func (r *Room) tgByName(name string) *tgRec {
	for _, tg := range r.st.TargetGroups {
		if tg.Name == name {
			return tg
		}
	}
	return nil
}

func (r *Room) createTargetGroup(q *core.Request, f url.Values) {
	name := f.Get("Name")
	if !tgNameRE.MatchString(name) {
		invalid(q, "Target group name '"+name+"' is not valid: 1-32 letters, digits and hyphens, not starting or ending with a hyphen")
		return
	}
	typ := orDefault(f.Get("TargetType"), "instance")
	if typ != "ip" {
		invalid(q, "localcloud models target type 'ip' only (the local cloud dials ip:port), not '"+typ+"'")
		return
	}
	proto := f.Get("Protocol")
	if proto != "HTTP" && proto != "HTTPS" {
		invalid(q, "A protocol of HTTP or HTTPS must be specified for a target group of an application load balancer")
		return
	}
	port, err := strconv.Atoi(f.Get("Port"))
	if err != nil || port < 1 || port > 65535 {
		invalid(q, "A port between 1 and 65535 must be specified, not '"+f.Get("Port")+"'")
		return
	}
	vpc := f.Get("VpcId")
	if vpc == "" {
		invalid(q, "A VPC ID must be specified for a target group of type ip")
		return
	}
	if !r.vpcExists(q.Region, vpc) {
		invalid(q, "The VPC ID '"+vpc+"' is not found")
		return
	}
	hc := healthCheck{Enabled: true, Protocol: proto, Port: "traffic-port", Path: "/", Interval: 30, Timeout: 5, Healthy: 5, Unhealthy: 2, Matcher: "200"}
	if !applyHealthCheck(q, f, &hc) {
		return
	}
	tags, ok := formTags(q, f)
	if !ok {
		return
	}
	if old := r.tgByName(name); old != nil {
		if old.Protocol == proto && old.Port == port && old.VpcID == vpc && old.HealthCheck == hc && old.Region == q.Region {
			respond(q, func(b *core.XMLBuf) { r.writeTGs(b, []*tgRec{old}) })
			return
		}
		fail(q, "DuplicateTargetGroupName", "A target group with the same name '"+name+"' exists, but with different settings")
		return
	}
	tg := &tgRec{
		ARN:  "arn:aws:elasticloadbalancing:" + q.Region + ":" + core.AccountID + ":targetgroup/" + name + "/" + newARNID(),
		Name: name, Region: q.Region, Protocol: proto, Port: port, VpcID: vpc, TargetType: typ,
		HealthCheck: hc, Attributes: core.CopyMap(tgAttributes), Tags: tags,
	}
	r.st.TargetGroups[tg.ARN] = tg
	r.commitLocked()
	respond(q, func(b *core.XMLBuf) { r.writeTGs(b, []*tgRec{tg}) })
}

// vpcExists: a VPC is known when one of its default subnets is (the EC2 room models the
// default VPC of each region).
func (r *Room) vpcExists(region, vpc string) bool {
	if r.ec2 == nil {
		return true
	}
	def, _ := r.ec2.DefaultSecurityGroup(region, vpc)
	return def != ""
}

// lbsOf are the load balancers whose listeners forward to the target group.
func (r *Room) lbsOf(tgARN string) []string {
	seen := map[string]bool{}
	for _, l := range r.st.Listeners {
		if slices.Contains(l.targetGroups(), tgARN) {
			seen[l.LB] = true
		}
	}
	return core.SortedKeys(seen)
}

func (r *Room) writeTGs(b *core.XMLBuf, tgs []*tgRec) {
	b.Open("TargetGroups")
	for _, tg := range tgs {
		hc := tg.HealthCheck
		b.Open("member")
		b.El("TargetGroupArn", tg.ARN)
		b.El("TargetGroupName", tg.Name)
		b.El("Protocol", tg.Protocol)
		b.El("Port", strconv.Itoa(tg.Port))
		b.El("VpcId", tg.VpcID)
		b.El("HealthCheckProtocol", hc.Protocol)
		b.El("HealthCheckPort", hc.Port)
		b.El("HealthCheckEnabled", strconv.FormatBool(hc.Enabled))
		b.El("HealthCheckIntervalSeconds", strconv.Itoa(hc.Interval))
		b.El("HealthCheckTimeoutSeconds", strconv.Itoa(hc.Timeout))
		b.El("HealthyThresholdCount", strconv.Itoa(hc.Healthy))
		b.El("UnhealthyThresholdCount", strconv.Itoa(hc.Unhealthy))
		b.El("HealthCheckPath", hc.Path)
		b.Open("Matcher")
		b.El("HttpCode", hc.Matcher)
		b.End("Matcher")
		b.Open("LoadBalancerArns")
		for _, lb := range r.lbsOf(tg.ARN) {
			b.El("member", lb)
		}
		b.End("LoadBalancerArns")
		b.El("TargetType", tg.TargetType)
		b.El("ProtocolVersion", "HTTP1")
		b.El("IpAddressType", "ipv4")
		b.End("member")
	}
	b.End("TargetGroups")
}

func (r *Room) describeTargetGroups(q *core.Request, f url.Values) {
	arns, names := members(f, "TargetGroupArns"), members(f, "Names")
	lbARN := f.Get("LoadBalancerArn")
	if lbARN != "" && r.st.LoadBalancers[lbARN] == nil {
		fail(q, "LoadBalancerNotFound", "Load balancer '"+lbARN+"' not found")
		return
	}
	var tgs []*tgRec
	switch {
	case len(arns) > 0 || len(names) > 0:
		find, keys := r.tgByName, names
		if len(arns) > 0 {
			find, keys = func(arn string) *tgRec { return r.st.TargetGroups[arn] }, arns
		}
		var ok bool
		if tgs, ok = lookupAll(q, keys, find, "TargetGroupNotFound", func(k string) string { return "Target groups '[" + k + "]' not found" }); !ok {
			return
		}
	default:
		for _, tg := range r.st.TargetGroups {
			if lbARN == "" || slices.Contains(r.lbsOf(tg.ARN), lbARN) {
				tgs = append(tgs, tg)
			}
		}
		slices.SortFunc(tgs, func(a, b *tgRec) int { return strings.Compare(a.Name, b.Name) })
	}
	respondPage(q, f, tgs, r.writeTGs)
}

// tgArg finds the target group of TargetGroupArn; nil = answered.
func (r *Room) tgArg(q *core.Request, f url.Values) *tgRec {
	arn := f.Get("TargetGroupArn")
	return arg(q, r.st.TargetGroups, arn, "TargetGroupNotFound", "Target groups '["+arn+"]' not found")
}

func (r *Room) modifyTargetGroup(q *core.Request, f url.Values) {
	tg := r.tgArg(q, f)
	if tg == nil {
		return
	}
	hc := tg.HealthCheck
	if !applyHealthCheck(q, f, &hc) {
		return
	}
	tg.HealthCheck = hc
	// A shorter interval applies from now, not after the check already planned.
	soon := time.Now().Add(time.Duration(hc.Interval) * time.Second)
	for _, t := range tg.Targets {
		if t.nextCheck.After(soon) {
			t.nextCheck = soon
		}
	}
	r.commitLocked()
	respond(q, func(b *core.XMLBuf) { r.writeTGs(b, []*tgRec{tg}) })
}

// deleteTargetGroup refuses while a listener forwards to the group. A group that is not
// there is a success.
func (r *Room) deleteTargetGroup(q *core.Request, f url.Values) {
	tg := r.st.TargetGroups[f.Get("TargetGroupArn")]
	if tg == nil {
		respond(q, nil)
		return
	}
	if len(r.lbsOf(tg.ARN)) > 0 {
		fail(q, "ResourceInUse", "Target group '"+tg.ARN+"' is currently in use by a listener or a rule")
		return
	}
	delete(r.st.TargetGroups, tg.ARN)
	delete(r.rr, tg.ARN)
	r.commitLocked()
	respond(q, nil)
}

func (r *Room) tgAttributes(q *core.Request, f url.Values) (map[string]string, bool) {
	if tg := r.tgArg(q, f); tg != nil {
		return tg.Attributes, true
	}
	return nil, false
}

// --- Targets.

type targetArg struct {
	IP   string
	Port int
	AZ   string
}

// formTargets reads Targets.member.N.Id/Port/AvailabilityZone; false = answered.
func formTargets(q *core.Request, f url.Values, tg *tgRec) ([]targetArg, bool) {
	var out []targetArg
	for _, p := range memberKeys(f, "Targets") {
		t := targetArg{IP: f.Get(p + ".Id"), Port: tg.Port, AZ: f.Get(p + ".AvailabilityZone")}
		if ip := net.ParseIP(t.IP); ip == nil || ip.To4() == nil {
			invalid(q, "The IP address '"+t.IP+"' is not a valid IPv4 address (target type ip)")
			return nil, false
		}
		if v := f.Get(p + ".Port"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil || n < 1 || n > 65535 {
				invalid(q, "Target port '"+v+"' must be between 1 and 65535")
				return nil, false
			}
			t.Port = n
		}
		out = append(out, t)
	}
	if len(out) == 0 {
		invalid(q, "At least one target must be specified")
		return nil, false
	}
	return out, true
}

func (tg *tgRec) target(ip string, port int) *targetRec {
	for _, t := range tg.Targets {
		if t.IP == ip && t.Port == port {
			return t
		}
	}
	return nil
}

// registerLocked adds a target (health "initial"); a draining target comes back.
func (r *Room) registerLocked(tg *tgRec, a targetArg) {
	t := tg.target(a.IP, a.Port)
	if t != nil && t.State != "draining" {
		return
	}
	if t == nil {
		t = &targetRec{IP: a.IP, Port: a.Port, AZ: a.AZ}
		tg.Targets = append(tg.Targets, t)
	}
	t.Registered = time.Now()
	t.DrainUntil = time.Time{}
	t.setState("initial", "Elb.RegistrationInProgress", "Target registration is in progress")
	t.nextCheck = time.Time{}
}

// deregisterLocked starts draining: no new requests, removed after the group's
// deregistration delay (at once when the delay is 0 or no load balancer uses the group).
func (r *Room) deregisterLocked(tg *tgRec, ip string, port int) {
	t := tg.target(ip, port)
	if t == nil || t.State == "draining" {
		return
	}
	delay := tg.deregistrationDelay()
	if delay <= 0 || len(r.lbsOf(tg.ARN)) == 0 {
		tg.Targets = slices.DeleteFunc(tg.Targets, func(x *targetRec) bool { return x == t })
		return
	}
	t.setState("draining", "Target.DeregistrationInProgress", "Target deregistration is in progress")
	t.DrainUntil = time.Now().Add(delay)
}

func (r *Room) registerTargets(q *core.Request, f url.Values) {
	tg := r.tgArg(q, f)
	if tg == nil {
		return
	}
	targets, ok := formTargets(q, f, tg)
	if !ok {
		return
	}
	for _, a := range targets {
		r.registerLocked(tg, a)
	}
	r.commitLocked()
	respond(q, nil)
}

func (r *Room) deregisterTargets(q *core.Request, f url.Values) {
	tg := r.tgArg(q, f)
	if tg == nil {
		return
	}
	targets, ok := formTargets(q, f, tg)
	if !ok {
		return
	}
	for _, a := range targets {
		if tg.target(a.IP, a.Port) == nil {
			fail(q, "InvalidTarget", "The following targets are not registered: '"+a.IP+":"+strconv.Itoa(a.Port)+"'")
			return
		}
	}
	for _, a := range targets {
		r.deregisterLocked(tg, a.IP, a.Port)
	}
	r.commitLocked()
	respond(q, nil)
}

// health is a target's state as DescribeTargetHealth reports it.
func (r *Room) health(tg *tgRec, t *targetRec) (state, reason, detail string) {
	if t.State != "draining" && len(r.lbsOf(tg.ARN)) == 0 {
		return "unused", "Target.NotInUse", "Target group is not configured to receive traffic from the load balancer"
	}
	if t.State != "draining" && !tg.HealthCheck.Enabled {
		return "unavailable", "Target.HealthCheckDisabled", "Health checks are disabled"
	}
	return t.State, t.Reason, t.Detail
}

func (r *Room) describeTargetHealth(q *core.Request, f url.Values) {
	tg := r.tgArg(q, f)
	if tg == nil {
		return
	}
	type row struct {
		ip, az                string
		port                  int
		state, reason, detail string
	}
	var rows []row
	if len(memberKeys(f, "Targets")) > 0 {
		asked, ok := formTargets(q, f, tg)
		if !ok {
			return
		}
		for _, a := range asked {
			if t := tg.target(a.IP, a.Port); t != nil {
				s, rs, d := r.health(tg, t)
				rows = append(rows, row{t.IP, t.AZ, t.Port, s, rs, d})
			} else {
				rows = append(rows, row{a.IP, a.AZ, a.Port, "unused", "Target.NotRegistered", "Target is not registered to the target group"})
			}
		}
	} else {
		for _, t := range tg.Targets {
			s, rs, d := r.health(tg, t)
			rows = append(rows, row{t.IP, t.AZ, t.Port, s, rs, d})
		}
	}
	respond(q, func(b *core.XMLBuf) {
		b.Open("TargetHealthDescriptions")
		for _, x := range rows {
			b.Open("member")
			b.Open("Target")
			b.El("Id", x.ip)
			b.El("Port", strconv.Itoa(x.port))
			if x.az != "" {
				b.El("AvailabilityZone", x.az)
			}
			b.End("Target")
			hcPort := tg.HealthCheck.Port
			if hcPort == "traffic-port" {
				hcPort = strconv.Itoa(x.port)
			}
			b.El("HealthCheckPort", hcPort)
			b.Open("TargetHealth")
			b.El("State", x.state)
			if x.reason != "" {
				b.El("Reason", x.reason)
				b.El("Description", x.detail)
			}
			b.End("TargetHealth")
			b.End("member")
		}
		b.End("TargetHealthDescriptions")
	})
}

// --- core.Targets (what ECS tells the load balancer).

// TargetGroupPort returns the group's port.
func (r *Room) TargetGroupPort(tgARN string) (int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	tg := r.st.TargetGroups[tgARN]
	if tg == nil {
		return 0, false
	}
	return tg.Port, true
}

// RegisterTarget adds ip:port to the group (health "initial").
func (r *Room) RegisterTarget(tgARN, ip string, port int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	tg := r.st.TargetGroups[tgARN]
	if tg == nil {
		return fmt.Errorf("TargetGroupNotFound: target group %s not found", tgARN)
	}
	r.registerLocked(tg, targetArg{IP: ip, Port: port})
	r.commitLocked()
	return nil
}

// DeregisterTarget starts draining ip:port.
func (r *Room) DeregisterTarget(tgARN, ip string, port int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if tg := r.st.TargetGroups[tgARN]; tg != nil {
		r.deregisterLocked(tg, ip, port)
		r.commitLocked()
	}
}

// TargetHealth is the target's state as DescribeTargetHealth gives it.
func (r *Room) TargetHealth(tgARN, ip string, port int) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	tg := r.st.TargetGroups[tgARN]
	if tg == nil {
		return "unused"
	}
	t := tg.target(ip, port)
	if t == nil {
		return "unused"
	}
	s, _, _ := r.health(tg, t)
	return s
}
