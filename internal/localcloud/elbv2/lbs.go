package elbv2

import (
	"bufio"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

type lbRec struct {
	ARN            string            `json:"arn"`
	Name           string            `json:"name"`
	Region         string            `json:"region"`
	Scheme         string            `json:"scheme"`
	Type           string            `json:"type"`
	VpcID          string            `json:"vpc_id"`
	DNSName        string            `json:"dns_name"` // its own loopback address, 127.77.N.M
	Zones          []zoneRec         `json:"zones"`
	SecurityGroups []string          `json:"security_groups"`
	IPAddressType  string            `json:"ip_address_type"`
	Created        time.Time         `json:"created"`
	Attributes     map[string]string `json:"attributes"`
	Tags           map[string]string `json:"tags"`
}

type zoneRec struct {
	Zone   string `json:"zone"`
	Subnet string `json:"subnet"`
}

// state is provisioning for the cloud's Active delay after creation, then active.
func (r *Room) state(lb *lbRec) string {
	if time.Since(lb.Created) < r.cloud.Delays().Active {
		return "provisioning"
	}
	return "active"
}

func boolCheck(v string) bool { return v == "true" || v == "false" }

func intCheck(lo, hi int) func(string) bool {
	return func(v string) bool {
		n, err := strconv.Atoi(v)
		return err == nil && n >= lo && n <= hi
	}
}

func anyValue(string) bool { return true }

func oneOf(values ...string) func(string) bool {
	return func(v string) bool { return slices.Contains(values, v) }
}

// lbAttributes are an application load balancer's attributes with their defaults.
var lbAttributes = map[string]string{
	"access_logs.s3.enabled":                                   "false",
	"access_logs.s3.bucket":                                    "",
	"access_logs.s3.prefix":                                    "",
	"connection_logs.s3.enabled":                               "false",
	"connection_logs.s3.bucket":                                "",
	"connection_logs.s3.prefix":                                "",
	"client_keep_alive.seconds":                                "3600",
	"deletion_protection.enabled":                              "false",
	"idle_timeout.timeout_seconds":                             "60",
	"routing.http.desync_mitigation_mode":                      "defensive",
	"routing.http.drop_invalid_header_fields.enabled":          "false",
	"routing.http.preserve_host_header.enabled":                "false",
	"routing.http.x_amzn_tls_version_and_cipher_suite.enabled": "false",
	"routing.http.xff_client_port.enabled":                     "false",
	"routing.http.xff_header_processing.mode":                  "append",
	"routing.http2.enabled":                                    "true",
	"waf.fail_open.enabled":                                    "false",
	"zonal_shift.config.enabled":                               "false",
}

var lbAttributeChecks = map[string]func(string) bool{
	"access_logs.s3.enabled":                                   boolCheck,
	"access_logs.s3.bucket":                                    anyValue,
	"access_logs.s3.prefix":                                    anyValue,
	"connection_logs.s3.enabled":                               boolCheck,
	"connection_logs.s3.bucket":                                anyValue,
	"connection_logs.s3.prefix":                                anyValue,
	"client_keep_alive.seconds":                                intCheck(60, 604800),
	"deletion_protection.enabled":                              boolCheck,
	"idle_timeout.timeout_seconds":                             intCheck(1, 4000),
	"routing.http.desync_mitigation_mode":                      oneOf("monitor", "defensive", "strictest"),
	"routing.http.drop_invalid_header_fields.enabled":          boolCheck,
	"routing.http.preserve_host_header.enabled":                boolCheck,
	"routing.http.x_amzn_tls_version_and_cipher_suite.enabled": boolCheck,
	"routing.http.xff_client_port.enabled":                     boolCheck,
	"routing.http.xff_header_processing.mode":                  oneOf("append", "preserve", "remove"),
	"routing.http2.enabled":                                    boolCheck,
	"waf.fail_open.enabled":                                    boolCheck,
	"zonal_shift.config.enabled":                               boolCheck,
}

var lbNameRE = regexp.MustCompile(`^[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,30}[a-zA-Z0-9])?$`)

func (r *Room) lbByName(name string) *lbRec {
	for _, lb := range r.st.LoadBalancers {
		if lb.Name == name {
			return lb
		}
	}
	return nil
}

func (r *Room) createLoadBalancer(q *core.Request, f url.Values) {
	name := f.Get("Name")
	if !lbNameRE.MatchString(name) || strings.HasPrefix(name, "internal-") {
		invalid(q, "Load balancer name '"+name+"' is not valid: 1-32 letters, digits and hyphens, not starting or ending with a hyphen, not starting with 'internal-'")
		return
	}
	typ := orDefault(f.Get("Type"), "application")
	if typ != "application" {
		invalid(q, "localcloud models application load balancers only, not '"+typ+"'")
		return
	}
	scheme := orDefault(f.Get("Scheme"), "internet-facing")
	if scheme != "internal" && scheme != "internet-facing" {
		invalid(q, "Scheme must be one of internal, internet-facing, not '"+scheme+"'")
		return
	}
	ipType := orDefault(f.Get("IpAddressType"), "ipv4")
	if ipType != "ipv4" {
		invalid(q, "localcloud models IpAddressType ipv4 only")
		return
	}
	subnets := members(f, "Subnets")
	for _, p := range memberKeys(f, "SubnetMappings") {
		subnets = append(subnets, f.Get(p+".SubnetId"))
	}
	zones, vpc, ok := r.zonesOf(q, subnets)
	if !ok {
		return
	}
	groups := members(f, "SecurityGroups")
	if !r.checkGroups(q, vpc, groups) {
		return
	}
	if len(groups) == 0 && r.ec2 != nil {
		if def, ok := r.ec2.DefaultSecurityGroup(q.Region, vpc); ok {
			groups = []string{def}
		}
	}
	tags, ok := formTags(q, f)
	if !ok {
		return
	}
	if old := r.lbByName(name); old != nil {
		// As AWS: the same request again returns the load balancer; other settings conflict.
		if old.Scheme == scheme && old.Region == q.Region && slices.Equal(old.subnets(), sortedCopy(subnets)) && slices.Equal(sortedCopy(old.SecurityGroups), sortedCopy(groups)) {
			respond(q, func(b *core.XMLBuf) { r.writeLBs(b, []*lbRec{old}) })
			return
		}
		fail(q, "DuplicateLoadBalancerName", "A load balancer with the same name '"+name+"' exists, but with different settings")
		return
	}
	lb := &lbRec{
		ARN:  "arn:aws:elasticloadbalancing:" + q.Region + ":" + core.AccountID + ":loadbalancer/app/" + name + "/" + newARNID(),
		Name: name, Region: q.Region, Scheme: scheme, Type: typ, VpcID: vpc, Zones: zones,
		SecurityGroups: groups, IPAddressType: ipType, Created: time.Now(),
		DNSName: r.pickAddressLocked(), Attributes: core.CopyMap(lbAttributes), Tags: tags,
	}
	r.st.LoadBalancers[lb.ARN] = lb
	r.commitLocked()
	respond(q, func(b *core.XMLBuf) { r.writeLBs(b, []*lbRec{lb}) })
}

func (lb *lbRec) subnets() []string {
	var out []string
	for _, z := range lb.Zones {
		out = append(out, z.Subnet)
	}
	return sortedCopy(out)
}

func sortedCopy(s []string) []string {
	out := slices.Clone(s)
	slices.Sort(out)
	return out
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// zonesOf checks an ALB's subnets with EC2: they exist, share a VPC and span two zones.
func (r *Room) zonesOf(q *core.Request, subnets []string) ([]zoneRec, string, bool) {
	var zones []zoneRec
	vpc := ""
	seen := map[string]bool{}
	for _, s := range subnets {
		_, v, ok := r.network.Subnet(q.Region, s)
		if !ok {
			fail(q, "SubnetNotFound", "The subnet ID '"+s+"' is not valid")
			return nil, "", false
		}
		if vpc != "" && v != vpc {
			fail(q, "InvalidSubnet", "The subnets must all be in the same VPC")
			return nil, "", false
		}
		vpc = v
		az, _ := r.ec2.SubnetAZ(q.Region, s)
		if seen[az] {
			invalid(q, "A load balancer cannot be attached to multiple subnets in the same Availability Zone")
			return nil, "", false
		}
		seen[az] = true
		zones = append(zones, zoneRec{Zone: az, Subnet: s})
	}
	if len(zones) < 2 {
		invalid(q, "At least two subnets in two different Availability Zones must be specified")
		return nil, "", false
	}
	slices.SortFunc(zones, func(a, b zoneRec) int { return strings.Compare(a.Zone, b.Zone) })
	return zones, vpc, true
}

func (r *Room) checkGroups(q *core.Request, vpc string, groups []string) bool {
	for _, g := range groups {
		gv, ok := r.network.SecurityGroupVPC(q.Region, g)
		if !ok {
			fail(q, "InvalidSecurityGroup", "Security group '"+g+"' does not exist")
			return false
		}
		if gv != vpc {
			fail(q, "InvalidConfigurationRequest", "Security group '"+g+"' is not in the load balancer's VPC '"+vpc+"'")
			return false
		}
	}
	return true
}

// pickAddressLocked chooses the load balancer's own loopback address: one no load
// balancer of this cloud has and nothing on the machine listens on (another local cloud
// may run beside this one), at random in 127.77.0.0/16 so two clouds rarely race for one.
func (r *Room) pickAddressLocked() string {
	used := map[string]bool{}
	for _, lb := range r.st.LoadBalancers {
		used[lb.DNSName] = true
	}
	listening := listeningAddresses()
	for range 1000 {
		a := fmt.Sprintf("127.77.%d.%d", rand.IntN(256), 1+rand.IntN(254))
		if !used[a] && !listening[a] {
			return a
		}
	}
	return fmt.Sprintf("127.77.%d.%d", rand.IntN(256), 1+rand.IntN(254))
}

// listeningAddresses are the IPv4 addresses with a listening TCP socket (/proc/net/tcp).
func listeningAddresses() map[string]bool {
	out := map[string]bool{}
	fh, err := os.Open("/proc/net/tcp")
	if err != nil {
		return out
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || fields[3] != "0A" { // 0A = LISTEN
			continue
		}
		hexIP, _, _ := strings.Cut(fields[1], ":")
		v, err := strconv.ParseUint(hexIP, 16, 32)
		if err != nil {
			continue
		}
		out[fmt.Sprintf("%d.%d.%d.%d", v&0xff, v>>8&0xff, v>>16&0xff, v>>24)] = true
	}
	return out
}

func (r *Room) writeLBs(b *core.XMLBuf, lbs []*lbRec) {
	b.Open("LoadBalancers")
	for _, lb := range lbs {
		b.Open("member")
		b.El("LoadBalancerArn", lb.ARN)
		b.El("DNSName", lb.DNSName)
		b.El("CanonicalHostedZoneId", "Z35SXDOTRQ7X7K")
		b.El("CreatedTime", isoTime(lb.Created))
		b.El("LoadBalancerName", lb.Name)
		b.El("Scheme", lb.Scheme)
		b.El("VpcId", lb.VpcID)
		b.Open("State")
		b.El("Code", r.state(lb))
		b.End("State")
		b.El("Type", lb.Type)
		b.Open("AvailabilityZones")
		for _, z := range lb.Zones {
			b.Open("member")
			b.El("ZoneName", z.Zone)
			b.El("SubnetId", z.Subnet)
			b.WriteString("<LoadBalancerAddresses/>")
			b.End("member")
		}
		b.End("AvailabilityZones")
		b.Open("SecurityGroups")
		for _, g := range lb.SecurityGroups {
			b.El("member", g)
		}
		b.End("SecurityGroups")
		b.El("IpAddressType", lb.IPAddressType)
		b.End("member")
	}
	b.End("LoadBalancers")
}

func (r *Room) sortedLBs() []*lbRec {
	out := make([]*lbRec, 0, len(r.st.LoadBalancers))
	for _, lb := range r.st.LoadBalancers {
		out = append(out, lb)
	}
	slices.SortFunc(out, func(a, b *lbRec) int { return strings.Compare(a.Name, b.Name) })
	return out
}

func (r *Room) describeLoadBalancers(q *core.Request, f url.Values) {
	arns, names := members(f, "LoadBalancerArns"), members(f, "Names")
	var lbs []*lbRec
	switch {
	case len(arns) > 0 && len(names) > 0:
		invalid(q, "Load balancer names and load balancer ARNs cannot be specified at the same time")
		return
	case len(arns) > 0 || len(names) > 0:
		find, keys := r.lbByName, names
		if len(arns) > 0 {
			find, keys = func(arn string) *lbRec { return r.st.LoadBalancers[arn] }, arns
		}
		var ok bool
		if lbs, ok = lookupAll(q, keys, find, "LoadBalancerNotFound", func(k string) string { return "Load balancers '[" + k + "]' not found" }); !ok {
			return
		}
	default:
		lbs = r.sortedLBs()
	}
	respondPage(q, f, lbs, r.writeLBs)
}

// lbArg finds the load balancer of LoadBalancerArn; nil = answered.
func (r *Room) lbArg(q *core.Request, f url.Values) *lbRec {
	arn := f.Get("LoadBalancerArn")
	return arg(q, r.st.LoadBalancers, arn, "LoadBalancerNotFound", "Load balancer '"+arn+"' not found")
}

// deleteLoadBalancer deletes it with its listeners (their proxies stop). A load balancer
// that is not there is a success, as AWS answers.
func (r *Room) deleteLoadBalancer(q *core.Request, f url.Values) {
	lb := r.st.LoadBalancers[f.Get("LoadBalancerArn")]
	if lb == nil {
		respond(q, nil)
		return
	}
	if lb.Attributes["deletion_protection.enabled"] == "true" {
		fail(q, "OperationNotPermitted", "Load balancer '"+lb.ARN+"' cannot be deleted because deletion protection is enabled")
		return
	}
	for arn, l := range r.st.Listeners {
		if l.LB == lb.ARN {
			r.stopProxyLocked(arn)
			delete(r.st.Listeners, arn)
		}
	}
	delete(r.st.LoadBalancers, lb.ARN)
	r.commitLocked()
	respond(q, nil)
}

func (r *Room) lbAttributes(q *core.Request, f url.Values) (map[string]string, bool) {
	if lb := r.lbArg(q, f); lb != nil {
		return lb.Attributes, true
	}
	return nil, false
}

func (r *Room) setSecurityGroups(q *core.Request, f url.Values) {
	lb := r.lbArg(q, f)
	if lb == nil {
		return
	}
	groups := members(f, "SecurityGroups")
	if !r.checkGroups(q, lb.VpcID, groups) {
		return
	}
	lb.SecurityGroups = groups
	r.commitLocked()
	respond(q, func(b *core.XMLBuf) {
		b.Open("SecurityGroupIds")
		for _, g := range groups {
			b.El("member", g)
		}
		b.End("SecurityGroupIds")
	})
}

// SecurityGroupInUse is core.SecurityGroupUsers: a load balancer holds its groups.
func (r *Room) SecurityGroupInUse(region, groupID string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, lb := range r.st.LoadBalancers {
		if lb.Region == region && slices.Contains(lb.SecurityGroups, groupID) {
			return "load balancer " + lb.Name
		}
	}
	return ""
}
