package ec2

import (
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

// --- Security groups.

func (r *Room) describeSecurityGroups(q *core.Request, f url.Values) {
	want := map[string]bool{}
	for _, id := range core.FormList(f, "GroupId") {
		if g := r.st.Groups[id]; g == nil || g.Region != q.Region {
			notFound(q, id)
			return
		}
		want[id] = true
	}
	for _, name := range core.FormList(f, "GroupName") {
		g := r.groupByName(q.Region, defaultVPCID(q.Region), name)
		if g == nil {
			bad(q, "InvalidGroup.NotFound", "The security group '"+name+"' does not exist in default VPC '"+defaultVPCID(q.Region)+"'")
			return
		}
		want[g.ID] = true
	}
	fs := parseFilters(f)
	if n := unknownFilter(fs, groupAttrs(&groupRec{})); n != "" {
		badFilter(q, n)
		return
	}
	var groups []*groupRec
	for _, g := range r.sortedGroups(q.Region) {
		if (len(want) == 0 || want[g.ID]) && matches(fs, groupAttrs(g)) {
			groups = append(groups, g)
		}
	}
	start, end, next := core.PageIndex(len(groups), f.Get("NextToken"), f.Get("MaxResults"), 1000)
	q.EC2Response("DescribeSecurityGroups", func(b *core.XMLBuf) {
		b.Open("securityGroupInfo")
		for _, g := range groups[start:end] {
			writeGroup(b, g)
		}
		b.End("securityGroupInfo")
		if next != "" {
			b.El("nextToken", next)
		}
	})
}

func groupAttrs(g *groupRec) attrs {
	return withTags(func(name string) ([]string, bool) {
		switch name {
		case "group-id":
			return []string{g.ID}, true
		case "group-name":
			return []string{g.Name}, true
		case "vpc-id":
			return []string{g.VpcID}, true
		case "description":
			return []string{g.Description}, true
		case "owner-id":
			return []string{core.AccountID}, true
		case "ip-permission.cidr", "egress.ip-permission.cidr":
			return g.peers(name == "egress.ip-permission.cidr", true), true
		case "ip-permission.group-id", "egress.ip-permission.group-id":
			return g.peers(name == "egress.ip-permission.group-id", false), true
		}
		return nil, false
	}, g.Tags)
}

// peers are the CIDRs (or peer groups) of the group's ingress or egress rules.
func (g *groupRec) peers(egress, cidr bool) []string {
	var out []string
	for _, rule := range g.Rules {
		if rule.Egress != egress {
			continue
		}
		if cidr && rule.CIDR != "" {
			out = append(out, rule.CIDR)
		} else if !cidr && rule.Group != "" {
			out = append(out, rule.Group)
		}
	}
	return out
}

func writeGroup(b *core.XMLBuf, g *groupRec) {
	b.Open("item")
	b.El("ownerId", core.AccountID)
	b.El("groupId", g.ID)
	b.El("groupName", g.Name)
	b.El("groupDescription", g.Description)
	b.El("vpcId", g.VpcID)
	b.El("securityGroupArn", g.arn())
	writePermissions(b, "ipPermissions", g.Rules, false)
	writePermissions(b, "ipPermissionsEgress", g.Rules, true)
	writeTagSet(b, g.Tags)
	b.End("item")
}

// writePermissions writes rules as DescribeSecurityGroups groups them: one IpPermission
// per protocol and port range, its CIDRs and peer groups inside.
func writePermissions(b *core.XMLBuf, set string, rules []*ruleRec, egress bool) {
	type perm struct {
		proto    string
		from, to int
		rules    []*ruleRec
	}
	var perms []*perm
	for _, rule := range rules {
		if rule.Egress != egress {
			continue
		}
		var p *perm
		for _, x := range perms {
			if x.proto == rule.Protocol && x.from == rule.From && x.to == rule.To {
				p = x
			}
		}
		if p == nil {
			p = &perm{proto: rule.Protocol, from: rule.From, to: rule.To}
			perms = append(perms, p)
		}
		p.rules = append(p.rules, rule)
	}
	b.Open(set)
	for _, p := range perms {
		b.Open("item")
		b.El("ipProtocol", p.proto)
		if p.proto != "-1" {
			b.El("fromPort", strconv.Itoa(p.from))
			b.El("toPort", strconv.Itoa(p.to))
		}
		b.Open("groups")
		for _, rule := range p.rules {
			if rule.Group != "" {
				b.Open("item")
				b.El("userId", core.AccountID)
				b.El("groupId", rule.Group)
				if rule.Description != "" {
					b.El("description", rule.Description)
				}
				b.End("item")
			}
		}
		b.End("groups")
		b.Open("ipRanges")
		for _, rule := range p.rules {
			if rule.CIDR != "" {
				b.Open("item")
				b.El("cidrIp", rule.CIDR)
				if rule.Description != "" {
					b.El("description", rule.Description)
				}
				b.End("item")
			}
		}
		b.End("ipRanges")
		b.WriteString("<ipv6Ranges/><prefixListIds/>")
		b.End("item")
	}
	b.End(set)
}

func (r *Room) groupByName(region, vpc, name string) *groupRec {
	for _, g := range r.st.Groups {
		if g.Region == region && g.VpcID == vpc && g.Name == name {
			return g
		}
	}
	return nil
}

func (r *Room) createSecurityGroup(q *core.Request, f url.Values) {
	name, desc := f.Get("GroupName"), f.Get("GroupDescription")
	vpc := f.Get("VpcId")
	switch {
	case name == "":
		bad(q, "MissingParameter", "The request must contain the parameter groupName")
		return
	case desc == "":
		bad(q, "MissingParameter", "The request must contain the parameter groupDescription")
		return
	case len(name) > 255 || len(desc) > 255:
		bad(q, "InvalidParameterValue", "Group name and description may be at most 255 characters")
		return
	case strings.HasPrefix(name, "sg-"):
		bad(q, "InvalidParameterValue", "Group names may not be in the format sg-*")
		return
	case name == "default":
		bad(q, "InvalidGroup.Reserved", "The security group 'default' is reserved")
		return
	}
	if vpc == "" {
		vpc = defaultVPCID(q.Region)
	}
	if vpc != defaultVPCID(q.Region) {
		bad(q, "InvalidVpcID.NotFound", "The vpc ID '"+vpc+"' does not exist")
		return
	}
	if r.groupByName(q.Region, vpc, name) != nil {
		bad(q, "InvalidGroup.Duplicate", "The security group '"+name+"' already exists for VPC '"+vpc+"'")
		return
	}
	g := &groupRec{ID: randomID("sg"), Name: name, Description: desc, VpcID: vpc, Region: q.Region,
		Tags: tagSpecs(f, "security-group")}
	// As AWS: a new group allows all outbound traffic.
	g.Rules = []*ruleRec{{ID: randomID("sgr"), Egress: true, Protocol: "-1", From: -1, To: -1, CIDR: "0.0.0.0/0"}}
	r.st.Groups[g.ID] = g
	r.commitLocked()
	q.EC2Response("CreateSecurityGroup", func(b *core.XMLBuf) {
		b.El("return", "true")
		b.El("groupId", g.ID)
		b.El("securityGroupArn", g.arn())
		writeTagSet(b, g.Tags)
	})
}

// groupArg finds the group of GroupId (or GroupName in the default VPC); nil = answered.
func (r *Room) groupArg(q *core.Request, f url.Values) *groupRec {
	if id := f.Get("GroupId"); id != "" {
		g := r.st.Groups[id]
		if g == nil || g.Region != q.Region {
			notFound(q, id)
			return nil
		}
		return g
	}
	name := f.Get("GroupName")
	if name == "" {
		bad(q, "MissingParameter", "The request must contain the parameter groupId or groupName")
		return nil
	}
	g := r.groupByName(q.Region, defaultVPCID(q.Region), name)
	if g == nil {
		bad(q, "InvalidGroup.NotFound", "The security group '"+name+"' does not exist in default VPC '"+defaultVPCID(q.Region)+"'")
	}
	return g
}

// unlessInUse answers DependencyViolation when a resource of another room (a load
// balancer) uses the group named by GroupId. It asks before taking the room's lock: the
// other room may ask EC2 while it answers.
func (r *Room) unlessInUse(h func(*core.Request)) func(*core.Request) {
	return func(q *core.Request) {
		if id := q.R.Form.Get("GroupId"); id != "" {
			for _, u := range core.Peers[core.SecurityGroupUsers](r.cloud) {
				if user := u.SecurityGroupInUse(q.Region, id); user != "" {
					bad(q, "DependencyViolation", "resource "+id+" has a dependent object ("+user+")")
					return
				}
			}
		}
		h(q)
	}
}

func (r *Room) deleteSecurityGroup(q *core.Request, f url.Values) {
	g := r.groupArg(q, f)
	if g == nil {
		return
	}
	if g.Default {
		bad(q, "CannotDelete", "the specified group: \""+g.ID+"\" name: \"default\" cannot be deleted by a user")
		return
	}
	for _, other := range r.st.Groups {
		if other.ID == g.ID {
			continue
		}
		for _, rule := range other.Rules {
			if rule.Group == g.ID {
				bad(q, "DependencyViolation", "resource "+g.ID+" has a dependent object")
				return
			}
		}
	}
	delete(r.st.Groups, g.ID)
	r.commitLocked()
	q.EC2Response("DeleteSecurityGroup", func(b *core.XMLBuf) {
		b.El("return", "true")
		b.El("groupId", g.ID)
	})
}

// --- Rules.

// parseRules reads IpPermissions.N (or the legacy top-level CidrIp/IpProtocol/FromPort/
// ToPort) into one rule per peer; err is the EC2 error (code, message).
func (r *Room) parseRules(q *core.Request, f url.Values, egress bool) ([]*ruleRec, [2]string) {
	var out []*ruleRec
	perms := core.FormIndexes(f, "IpPermissions")
	if len(perms) == 0 && f.Get("IpProtocol") != "" {
		perms = []string{""} // legacy flat parameters
	}
	for _, p := range perms {
		key := func(k string) string {
			if p == "" {
				return k
			}
			return p + "." + k
		}
		proto, from, to, err := portRange(f.Get(key("IpProtocol")), f.Get(key("FromPort")), f.Get(key("ToPort")))
		if err != "" {
			return nil, [2]string{"InvalidParameterValue", err}
		}
		mk := func() *ruleRec {
			return &ruleRec{ID: randomID("sgr"), Egress: egress, Protocol: proto, From: from, To: to}
		}
		n := 0
		for _, ip := range core.FormIndexes(f, key("IpRanges")) {
			n++
			rule := mk()
			rule.CIDR, rule.Description = f.Get(ip+".CidrIp"), f.Get(ip+".Description")
			if _, _, e := net.ParseCIDR(rule.CIDR); e != nil || !strings.Contains(rule.CIDR, ".") {
				return nil, [2]string{"InvalidParameterValue", "CIDR block " + rule.CIDR + " is malformed"}
			}
			out = append(out, rule)
		}
		if p == "" && f.Get("CidrIp") != "" {
			n++
			rule := mk()
			rule.CIDR = f.Get("CidrIp")
			if _, _, e := net.ParseCIDR(rule.CIDR); e != nil {
				return nil, [2]string{"InvalidParameterValue", "CIDR block " + rule.CIDR + " is malformed"}
			}
			out = append(out, rule)
		}
		for _, gp := range core.FormIndexes(f, key("Groups")) {
			n++
			rule := mk()
			rule.Description = f.Get(gp + ".Description")
			peer := f.Get(gp + ".GroupId")
			if peer == "" && f.Get(gp+".GroupName") != "" {
				if pg := r.groupByName(q.Region, defaultVPCID(q.Region), f.Get(gp+".GroupName")); pg != nil {
					peer = pg.ID
				} else {
					return nil, [2]string{"InvalidGroup.NotFound", "The security group '" + f.Get(gp+".GroupName") + "' does not exist"}
				}
			}
			if pg := r.st.Groups[peer]; pg == nil || pg.Region != q.Region {
				return nil, [2]string{"InvalidGroup.NotFound", "The security group '" + peer + "' does not exist"}
			}
			rule.Group = peer
			out = append(out, rule)
		}
		if len(core.FormIndexes(f, key("Ipv6Ranges"))) > 0 || len(core.FormIndexes(f, key("PrefixListIds"))) > 0 {
			return nil, [2]string{"InvalidParameterValue", "localcloud: IPv6 ranges and prefix lists are not supported; use IpRanges or Groups"}
		}
		if n == 0 {
			return nil, [2]string{"MissingParameter", "The request must contain at least one of IpRanges or Groups in each IpPermissions"}
		}
	}
	if len(out) == 0 {
		return nil, [2]string{"MissingParameter", "The request must contain the parameter ipPermissions"}
	}
	return out, [2]string{}
}

// portRange normalises a protocol and its ports as EC2 stores them.
func portRange(proto, from, to string) (string, int, int, string) {
	switch strings.ToLower(proto) {
	case "-1", "all":
		return "-1", -1, -1, ""
	case "tcp", "6":
		proto = "tcp"
	case "udp", "17":
		proto = "udp"
	case "icmp", "1":
		proto = "icmp"
	default:
		return "", 0, 0, "Invalid value '" + proto + "' for IP protocol. Unknown protocol."
	}
	f, err1 := strconv.Atoi(from)
	t, err2 := strconv.Atoi(to)
	if err1 != nil || err2 != nil {
		return "", 0, 0, "Invalid value for portRange. Must specify both from and to ports with TCP/UDP."
	}
	if proto != "icmp" && (f < 0 || t > 65535 || f > t) {
		return "", 0, 0, fmt.Sprintf("Invalid value for portRange. Must be a valid port range (%d-%d).", f, t)
	}
	return proto, f, t, ""
}

func sameRule(a, b *ruleRec) bool {
	return a.Egress == b.Egress && a.Protocol == b.Protocol && a.From == b.From && a.To == b.To && a.CIDR == b.CIDR && a.Group == b.Group
}

func describeRule(x *ruleRec) string {
	peer := x.CIDR
	if x.Group != "" {
		peer = x.Group
	}
	proto := strings.ToUpper(x.Protocol)
	if x.Protocol == "-1" {
		proto = "ALL"
	}
	return fmt.Sprintf("peer: %s, %s, from port: %d, to port: %d, ALLOW", peer, proto, x.From, x.To)
}

func (r *Room) authorize(egress bool) func(q *core.Request, f url.Values) {
	return func(q *core.Request, f url.Values) {
		g := r.groupArg(q, f)
		if g == nil {
			return
		}
		rules, err := r.parseRules(q, f, egress)
		if err[0] != "" {
			bad(q, err[0], err[1])
			return
		}
		for i, x := range rules {
			for _, have := range append(append([]*ruleRec(nil), g.Rules...), rules[:i]...) {
				if sameRule(have, x) {
					bad(q, "InvalidPermission.Duplicate", "the specified rule \""+describeRule(x)+"\" already exists")
					return
				}
			}
		}
		g.Rules = append(g.Rules, rules...)
		r.commitLocked()
		q.EC2Response(q.Op, func(b *core.XMLBuf) {
			b.El("return", "true")
			b.Open("securityGroupRuleSet")
			for _, x := range rules {
				writeRule(b, g, x)
			}
			b.End("securityGroupRuleSet")
		})
	}
}

// revoke removes the rules named by IpPermissions or SecurityGroupRuleId.N. Rules that do
// not exist are listed as unknown; when none of them exists the call fails
// (InvalidPermission.NotFound), as EC2 answers.
func (r *Room) revoke(egress bool) func(q *core.Request, f url.Values) {
	return func(q *core.Request, f url.Values) {
		g := r.groupArg(q, f)
		if g == nil {
			return
		}
		var gone, unknown []*ruleRec
		if ids := core.FormList(f, "SecurityGroupRuleId"); len(ids) > 0 {
			for _, id := range ids {
				found := false
				for _, have := range g.Rules {
					if have.ID == id && have.Egress == egress {
						gone, found = append(gone, have), true
					}
				}
				if !found {
					bad(q, "InvalidSecurityGroupRuleId.NotFound", "The security group rule ID '"+id+"' does not exist")
					return
				}
			}
		} else {
			rules, err := r.parseRules(q, f, egress)
			if err[0] != "" {
				bad(q, err[0], err[1])
				return
			}
			for _, x := range rules {
				found := false
				for _, have := range g.Rules {
					if sameRule(have, x) {
						gone, found = append(gone, have), true
					}
				}
				if !found {
					unknown = append(unknown, x)
				}
			}
		}
		if len(gone) == 0 {
			bad(q, "InvalidPermission.NotFound", "The specified rule does not exist in this security group.")
			return
		}
		kept := g.Rules[:0]
		for _, have := range g.Rules {
			drop := false
			for _, x := range gone {
				drop = drop || x == have
			}
			if !drop {
				kept = append(kept, have)
			}
		}
		g.Rules = kept
		r.commitLocked()
		q.EC2Response(q.Op, func(b *core.XMLBuf) {
			b.El("return", "true")
			if len(unknown) > 0 {
				writePermissions(b, "unknownIpPermissionSet", unknown, egress)
			}
			b.Open("revokedSecurityGroupRuleSet")
			for _, x := range gone {
				b.Open("item")
				b.El("securityGroupRuleId", x.ID)
				b.El("groupId", g.ID)
				b.El("isEgress", boolStr(x.Egress))
				b.El("ipProtocol", x.Protocol)
				b.El("fromPort", strconv.Itoa(x.From))
				b.El("toPort", strconv.Itoa(x.To))
				if x.CIDR != "" {
					b.El("cidrIpv4", x.CIDR)
				}
				if x.Group != "" {
					b.El("referencedGroupId", x.Group)
				}
				b.End("item")
			}
			b.End("revokedSecurityGroupRuleSet")
		})
	}
}

func writeRule(b *core.XMLBuf, g *groupRec, x *ruleRec) {
	b.Open("item")
	b.El("securityGroupRuleId", x.ID)
	b.El("groupId", g.ID)
	b.El("groupOwnerId", core.AccountID)
	b.El("isEgress", boolStr(x.Egress))
	b.El("ipProtocol", x.Protocol)
	b.El("fromPort", strconv.Itoa(x.From))
	b.El("toPort", strconv.Itoa(x.To))
	if x.CIDR != "" {
		b.El("cidrIpv4", x.CIDR)
	}
	if x.Group != "" {
		b.Open("referencedGroupInfo")
		b.El("groupId", x.Group)
		b.El("userId", core.AccountID)
		b.End("referencedGroupInfo")
	}
	if x.Description != "" {
		b.El("description", x.Description)
	}
	b.El("securityGroupRuleArn", "arn:aws:ec2:"+g.Region+":"+core.AccountID+":security-group-rule/"+x.ID)
	b.End("item")
}

func (r *Room) describeSecurityGroupRules(q *core.Request, f url.Values) {
	ids := map[string]bool{}
	for _, id := range core.FormList(f, "SecurityGroupRuleId") {
		ids[id] = true
	}
	fs := parseFilters(f)
	type row struct {
		g *groupRec
		x *ruleRec
	}
	ruleAttrs := func(w row) attrs {
		return withTags(func(name string) ([]string, bool) {
			switch name {
			case "group-id":
				return []string{w.g.ID}, true
			case "security-group-rule-id":
				return []string{w.x.ID}, true
			}
			return nil, false
		}, nil)
	}
	if n := unknownFilter(fs, ruleAttrs(row{&groupRec{}, &ruleRec{}})); n != "" {
		badFilter(q, n)
		return
	}
	var rows []row
	for _, g := range r.sortedGroups(q.Region) {
		for _, x := range g.Rules {
			w := row{g, x}
			if (len(ids) == 0 || ids[x.ID]) && matches(fs, ruleAttrs(w)) {
				rows = append(rows, w)
			}
		}
	}
	start, end, next := core.PageIndex(len(rows), f.Get("NextToken"), f.Get("MaxResults"), 1000)
	q.EC2Response("DescribeSecurityGroupRules", func(b *core.XMLBuf) {
		b.Open("securityGroupRuleSet")
		for _, w := range rows[start:end] {
			writeRule(b, w.g, w.x)
		}
		b.End("securityGroupRuleSet")
		if next != "" {
			b.El("nextToken", next)
		}
	})
}
