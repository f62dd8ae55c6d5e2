// Package ec2 is the local cloud's EC2 (the ec2 query protocol): each region's default VPC
// with one default subnet per availability zone, security groups and their rules, and tags.
// Nothing here carries traffic: rules are recorded, not enforced on loopback.
package ec2

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

const stateFile = "ec2.json"

type doc struct {
	// Regions are the regions whose default security group exists (made on first use).
	Regions map[string]bool              `json:"regions"`
	Groups  map[string]*groupRec         `json:"groups"` // by group id
	Tags    map[string]map[string]string `json:"tags"`   // tags of VPCs and subnets, by id
}

type groupRec struct {
	ID          string            `json:"id"`
	Name        string            `json:"name"`
	Description string            `json:"description"`
	VpcID       string            `json:"vpc_id"`
	Region      string            `json:"region"`
	Default     bool              `json:"default,omitempty"`
	Tags        map[string]string `json:"tags"`
	Rules       []*ruleRec        `json:"rules"`
}

// ruleRec is one security group rule: one protocol and port range, one peer (a CIDR or a
// group), as DescribeSecurityGroupRules lists them.
type ruleRec struct {
	ID          string `json:"id"`
	Egress      bool   `json:"egress,omitempty"`
	Protocol    string `json:"protocol"` // tcp, udp, icmp or -1 (all)
	From        int    `json:"from"`     // -1 for all traffic
	To          int    `json:"to"`
	CIDR        string `json:"cidr,omitempty"`
	Group       string `json:"group,omitempty"` // the peer group's id
	Description string `json:"description,omitempty"`
}

func (g *groupRec) arn() string {
	return "arn:aws:ec2:" + g.Region + ":" + core.AccountID + ":security-group/" + g.ID
}

// Room is EC2.
type Room struct {
	cloud *core.Cloud
	mu    sync.Mutex
	st    doc
}

// New returns the EC2 room.
func New() *Room { return &Room{} }

func (*Room) Name() string { return "ec2" }

func (r *Room) Open(c *core.Cloud) error {
	r.cloud = c
	r.st = doc{}
	if err := c.LoadDoc(stateFile, &r.st, false); err != nil {
		return err
	}
	if r.st.Regions == nil {
		r.st.Regions = map[string]bool{}
	}
	if r.st.Groups == nil {
		r.st.Groups = map[string]*groupRec{}
	}
	if r.st.Tags == nil {
		r.st.Tags = map[string]map[string]string{}
	}
	return nil
}

func (r *Room) Save() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cloud.SaveDoc(stateFile, &r.st)
}

func (*Room) Close() {}

func (r *Room) commitLocked() {
	if err := r.cloud.SaveDoc(stateFile, &r.st); err != nil {
		r.cloud.Logf("save state: %v", err)
	}
}

// Resources lists tagged security groups, VPCs and subnets.
func (r *Room) Resources(match func(map[string]string) bool) []core.Resource {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []core.Resource
	for _, g := range r.st.Groups {
		if match(g.Tags) {
			out = append(out, core.Resource{Service: "ec2", Type: "security-group", Name: g.Name, ARN: g.arn(), Tags: core.CopyMap(g.Tags)})
		}
	}
	for id, tags := range r.st.Tags {
		if !match(tags) {
			continue
		}
		typ, region := "vpc", ""
		for reg := range r.st.Regions {
			if id == defaultVPCID(reg) {
				region = reg
			}
			for _, s := range defaultSubnets(reg) {
				if s.ID == id {
					typ, region = "subnet", reg
				}
			}
		}
		out = append(out, core.Resource{Service: "ec2", Type: typ, Name: id, ARN: "arn:aws:ec2:" + region + ":" + core.AccountID + ":" + typ + "/" + id, Tags: core.CopyMap(tags)})
	}
	return out
}

func (*Room) Route(q *core.Request) (string, bool) { return q.EC2Action() }

func (*Room) Unknown(q *core.Request) {
	q.EC2Error(http.StatusBadRequest, "InvalidAction", "The action "+q.Op+" is not valid for this web service (localcloud implements a slice of EC2).")
}

func (*Room) Throttle(q *core.Request) {
	q.EC2Error(http.StatusServiceUnavailable, "RequestLimitExceeded", "Request limit exceeded.")
}

func (*Room) Fail(q *core.Request) {
	q.EC2Error(http.StatusInternalServerError, "InternalError", "localcloud: injected fault")
}

func bad(q *core.Request, code, msg string) { q.EC2Error(http.StatusBadRequest, code, msg) }

// Ops is EC2's operation table.
func (r *Room) Ops() []core.Op {
	return []core.Op{
		core.Read("DescribeVpcs", r.locked(r.describeVpcs)),
		core.Read("DescribeSubnets", r.locked(r.describeSubnets)),
		core.Read("DescribeAvailabilityZones", r.locked(r.describeAvailabilityZones)),
		core.Read("DescribeSecurityGroups", r.locked(r.describeSecurityGroups)),
		core.Write("CreateSecurityGroup", r.locked(r.createSecurityGroup)),
		core.Write("DeleteSecurityGroup", r.unlessInUse(r.locked(r.deleteSecurityGroup))),
		core.Write("AuthorizeSecurityGroupIngress", r.locked(r.authorize(false))),
		core.Write("AuthorizeSecurityGroupEgress", r.locked(r.authorize(true))),
		core.Write("RevokeSecurityGroupIngress", r.locked(r.revoke(false))),
		core.Write("RevokeSecurityGroupEgress", r.locked(r.revoke(true))),
		core.Read("DescribeSecurityGroupRules", r.locked(r.describeSecurityGroupRules)),
		core.Write("CreateTags", r.locked(r.createTags)),
		core.Write("DeleteTags", r.locked(r.deleteTags)),
		core.Read("DescribeTags", r.locked(r.describeTags)),
	}
}

// locked runs a handler under the room's lock with the call's form, the call's region's
// default resources made.
func (r *Room) locked(h func(q *core.Request, f url.Values)) func(*core.Request) {
	return func(q *core.Request) {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.ensureRegionLocked(q.Region)
		h(q, q.R.Form)
	}
}

// stableID is a resource id derived from a seed: a region's default resources have the
// same ids in every state dir.
func stableID(prefix, seed string) string {
	h := sha256.Sum256([]byte(seed))
	return prefix + "-" + hex.EncodeToString(h[:])[:17]
}

// randomID is a new resource id, e.g. sg-0a1b2c3d4e5f60718.
func randomID(prefix string) string {
	return stableID(prefix, core.NewRequestID())
}

// --- The default VPC, subnets and zones (the same in every region).

const defaultVPCCIDR = "172.31.0.0/16"

func defaultVPCID(region string) string { return stableID("vpc", "default-vpc/"+region) }

type subnet struct {
	ID, CIDR, AZ, AZID, VpcID, Region string
}

// zoneSuffixes are the availability zones of every region, one default subnet each.
var zoneSuffixes = []string{"a", "b", "c"}

func defaultSubnets(region string) []subnet {
	out := make([]subnet, len(zoneSuffixes))
	for i, z := range zoneSuffixes {
		out[i] = subnet{
			ID:     stableID("subnet", "default-subnet/"+region+z),
			CIDR:   "172.31." + strconv.Itoa(16*i) + ".0/20",
			AZ:     region + z,
			AZID:   zoneID(region, i),
			VpcID:  defaultVPCID(region),
			Region: region,
		}
	}
	return out
}

// zoneID is AWS's zone id style: us-east-1 -> use1-az1.
func zoneID(region string, i int) string {
	short := ""
	for _, p := range strings.Split(region, "-") {
		if p == "" {
			continue
		}
		if p[0] >= '0' && p[0] <= '9' {
			short += p
		} else if len(short) == 0 {
			short += p
		} else {
			short += p[:1]
		}
	}
	return short + "-az" + strconv.Itoa(i+1)
}

func findSubnet(region, id string) (subnet, bool) {
	for _, s := range defaultSubnets(region) {
		if s.ID == id {
			return s, true
		}
	}
	return subnet{}, false
}

// ensureRegionLocked makes the region's default security group on first use.
func (r *Room) ensureRegionLocked(region string) {
	if r.st.Regions[region] {
		return
	}
	vpc := defaultVPCID(region)
	g := &groupRec{ID: stableID("sg", "default-sg/"+region), Name: "default", Description: "default VPC security group",
		VpcID: vpc, Region: region, Default: true, Tags: map[string]string{}}
	g.Rules = []*ruleRec{
		{ID: randomID("sgr"), Protocol: "-1", From: -1, To: -1, Group: g.ID},
		{ID: randomID("sgr"), Egress: true, Protocol: "-1", From: -1, To: -1, CIDR: "0.0.0.0/0"},
	}
	r.st.Groups[g.ID] = g
	r.st.Regions[region] = true
	r.commitLocked()
}

// Subnet is core.Network's subnet lookup (ECS asks it for a task's address range).
func (r *Room) Subnet(region, subnetID string) (cidr, vpcID string, ok bool) {
	s, ok := findSubnet(region, subnetID)
	return s.CIDR, s.VpcID, ok
}

// SecurityGroupVPC is core.Network's security group lookup.
func (r *Room) SecurityGroupVPC(region, groupID string) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ensureRegionLocked(region)
	g := r.st.Groups[groupID]
	if g == nil || g.Region != region {
		return "", false
	}
	return g.VpcID, true
}

// DefaultSecurityGroup is the VPC's "default" group (a load balancer created without
// security groups gets it).
func (r *Room) DefaultSecurityGroup(region, vpcID string) (string, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ensureRegionLocked(region)
	for _, g := range r.st.Groups {
		if g.Region == region && g.VpcID == vpcID && g.Default {
			return g.ID, true
		}
	}
	return "", false
}

// SubnetAZ is the subnet's availability zone (ELBv2 checks an ALB spans two).
func (r *Room) SubnetAZ(region, subnetID string) (string, bool) {
	s, ok := findSubnet(region, subnetID)
	return s.AZ, ok
}

// sortedGroups are the region's groups in a stable order.
func (r *Room) sortedGroups(region string) []*groupRec {
	var out []*groupRec
	for _, g := range r.st.Groups {
		if g.Region == region {
			out = append(out, g)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
