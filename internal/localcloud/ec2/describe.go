package ec2

import (
	"net/url"
	"strconv"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

func boolStr(b bool) string { return strconv.FormatBool(b) }

func (r *Room) describeVpcs(q *core.Request, f url.Values) {
	vpc := defaultVPCID(q.Region)
	tags := r.st.Tags[vpc]
	for _, id := range core.FormList(f, "VpcId") {
		if id != vpc {
			bad(q, "InvalidVpcID.NotFound", "The vpc ID '"+id+"' does not exist")
			return
		}
	}
	a := withTags(func(name string) ([]string, bool) {
		switch name {
		case "vpc-id":
			return []string{vpc}, true
		case "is-default", "isDefault":
			return []string{"true"}, true
		case "cidr", "cidr-block-association.cidr-block", "cidrBlock":
			return []string{defaultVPCCIDR}, true
		case "state":
			return []string{"available"}, true
		case "owner-id":
			return []string{core.AccountID}, true
		}
		return nil, false
	}, tags)
	fs := parseFilters(f)
	if n := unknownFilter(fs, a); n != "" {
		badFilter(q, n)
		return
	}
	q.EC2Response("DescribeVpcs", func(b *core.XMLBuf) {
		b.Open("vpcSet")
		if matches(fs, a) {
			b.Open("item")
			b.El("vpcId", vpc)
			b.El("ownerId", core.AccountID)
			b.El("state", "available")
			b.El("cidrBlock", defaultVPCCIDR)
			b.Open("cidrBlockAssociationSet")
			b.Open("item")
			b.El("cidrBlock", defaultVPCCIDR)
			b.El("associationId", stableID("vpc-cidr-assoc", vpc))
			b.WriteString("<cidrBlockState><state>associated</state></cidrBlockState>")
			b.End("item")
			b.End("cidrBlockAssociationSet")
			b.El("dhcpOptionsId", stableID("dopt", q.Region))
			b.El("instanceTenancy", "default")
			b.El("isDefault", "true")
			writeTagSet(b, tags)
			b.End("item")
		}
		b.End("vpcSet")
	})
}

func (r *Room) describeSubnets(q *core.Request, f url.Values) {
	subnets := defaultSubnets(q.Region)
	want := map[string]bool{}
	for _, id := range core.FormList(f, "SubnetId") {
		if _, ok := findSubnet(q.Region, id); !ok {
			bad(q, "InvalidSubnetID.NotFound", "The subnet ID '"+id+"' does not exist")
			return
		}
		want[id] = true
	}
	fs := parseFilters(f)
	subnetAttrs := func(s subnet) attrs {
		return withTags(func(name string) ([]string, bool) {
			switch name {
			case "vpc-id", "vpcId":
				return []string{s.VpcID}, true
			case "subnet-id", "subnetId":
				return []string{s.ID}, true
			case "default-for-az", "defaultForAz":
				return []string{"true"}, true
			case "availability-zone", "availabilityZone":
				return []string{s.AZ}, true
			case "availability-zone-id", "availabilityZoneId":
				return []string{s.AZID}, true
			case "cidr-block", "cidrBlock", "cidr":
				return []string{s.CIDR}, true
			case "state":
				return []string{"available"}, true
			case "owner-id":
				return []string{core.AccountID}, true
			case "map-public-ip-on-launch":
				return []string{"true"}, true
			}
			return nil, false
		}, r.st.Tags[s.ID])
	}
	if n := unknownFilter(fs, subnetAttrs(subnets[0])); n != "" {
		badFilter(q, n)
		return
	}
	q.EC2Response("DescribeSubnets", func(b *core.XMLBuf) {
		b.Open("subnetSet")
		for _, s := range subnets {
			if (len(want) > 0 && !want[s.ID]) || !matches(fs, subnetAttrs(s)) {
				continue
			}
			b.Open("item")
			b.El("subnetId", s.ID)
			b.El("subnetArn", "arn:aws:ec2:"+s.Region+":"+core.AccountID+":subnet/"+s.ID)
			b.El("state", "available")
			b.El("ownerId", core.AccountID)
			b.El("vpcId", s.VpcID)
			b.El("cidrBlock", s.CIDR)
			b.El("availableIpAddressCount", "4091")
			b.El("availabilityZone", s.AZ)
			b.El("availabilityZoneId", s.AZID)
			b.El("defaultForAz", "true")
			b.El("mapPublicIpOnLaunch", "true")
			b.El("assignIpv6AddressOnCreation", "false")
			writeTagSet(b, r.st.Tags[s.ID])
			b.End("item")
		}
		b.End("subnetSet")
	})
}

func (r *Room) describeAvailabilityZones(q *core.Request, f url.Values) {
	names := map[string]bool{}
	for _, n := range core.FormList(f, "ZoneName") {
		names[n] = true
	}
	fs := parseFilters(f)
	zoneAttrs := func(s subnet) attrs {
		return func(name string) ([]string, bool) {
			switch name {
			case "zone-name":
				return []string{s.AZ}, true
			case "zone-id":
				return []string{s.AZID}, true
			case "state":
				return []string{"available"}, true
			case "region-name":
				return []string{s.Region}, true
			case "zone-type":
				return []string{"availability-zone"}, true
			}
			return nil, false
		}
	}
	subnets := defaultSubnets(q.Region)
	if n := unknownFilter(fs, zoneAttrs(subnets[0])); n != "" {
		badFilter(q, n)
		return
	}
	q.EC2Response("DescribeAvailabilityZones", func(b *core.XMLBuf) {
		b.Open("availabilityZoneInfo")
		for _, s := range subnets {
			if (len(names) > 0 && !names[s.AZ]) || !matches(fs, zoneAttrs(s)) {
				continue
			}
			b.Open("item")
			b.El("zoneName", s.AZ)
			b.El("zoneState", "available")
			b.El("regionName", s.Region)
			b.El("zoneId", s.AZID)
			b.El("zoneType", "availability-zone")
			b.El("optInStatus", "opt-in-not-required")
			b.El("groupName", s.Region)
			b.El("networkBorderGroup", s.Region)
			b.WriteString("<messageSet/>")
			b.End("item")
		}
		b.End("availabilityZoneInfo")
	})
}

// --- Tags on any resource of the room.

// resourceType names what an id is (security-group, vpc, subnet); "" when the id is not
// a resource of this region.
func (r *Room) resourceType(region, id string) string {
	if g := r.st.Groups[id]; g != nil && g.Region == region {
		return "security-group"
	}
	if id == defaultVPCID(region) {
		return "vpc"
	}
	if _, ok := findSubnet(region, id); ok {
		return "subnet"
	}
	return ""
}

// tagsOf returns the live tag map of a resource (created on demand for VPCs and subnets).
func (r *Room) tagsOf(id string) map[string]string {
	if g := r.st.Groups[id]; g != nil {
		if g.Tags == nil {
			g.Tags = map[string]string{}
		}
		return g.Tags
	}
	if r.st.Tags[id] == nil {
		r.st.Tags[id] = map[string]string{}
	}
	return r.st.Tags[id]
}

// notFound answers EC2's not-found error for an id by its prefix.
func notFound(q *core.Request, id string) {
	switch {
	case len(id) > 3 && id[:3] == "sg-":
		bad(q, "InvalidGroup.NotFound", "The security group '"+id+"' does not exist")
	case len(id) > 4 && id[:4] == "vpc-":
		bad(q, "InvalidVpcID.NotFound", "The vpc ID '"+id+"' does not exist")
	case len(id) > 7 && id[:7] == "subnet-":
		bad(q, "InvalidSubnetID.NotFound", "The subnet ID '"+id+"' does not exist")
	default:
		bad(q, "InvalidID", "The ID '"+id+"' is not valid")
	}
}

// taggedIDs checks ResourceId.N; false = answered.
func (r *Room) taggedIDs(q *core.Request, f url.Values) ([]string, bool) {
	ids := core.FormList(f, "ResourceId")
	if len(ids) == 0 {
		bad(q, "MissingParameter", "The request must contain the parameter resourceIdSet")
		return nil, false
	}
	for _, id := range ids {
		if r.resourceType(q.Region, id) == "" {
			notFound(q, id)
			return nil, false
		}
	}
	return ids, true
}

func (r *Room) createTags(q *core.Request, f url.Values) {
	ids, ok := r.taggedIDs(q, f)
	if !ok {
		return
	}
	tags := formTags(f, "Tag")
	for k := range tags {
		if k == "" || len(k) > 128 || len(k) >= 4 && k[:4] == "aws:" {
			bad(q, "InvalidParameterValue", "Tag key '"+k+"' is not valid: 1-128 characters, not starting with aws:")
			return
		}
	}
	for _, id := range ids {
		m := r.tagsOf(id)
		for k, v := range tags {
			m[k] = v
		}
	}
	r.commitLocked()
	q.EC2Response("CreateTags", func(b *core.XMLBuf) { b.El("return", "true") })
}

func (r *Room) deleteTags(q *core.Request, f url.Values) {
	ids, ok := r.taggedIDs(q, f)
	if !ok {
		return
	}
	type del struct {
		key, value string
		anyValue   bool
	}
	var dels []del
	for _, p := range core.FormIndexes(f, "Tag") {
		_, hasValue := f[p+".Value"]
		dels = append(dels, del{key: f.Get(p + ".Key"), value: f.Get(p + ".Value"), anyValue: !hasValue})
	}
	for _, id := range ids {
		m := r.tagsOf(id)
		if len(dels) == 0 { // no Tag.N: every tag goes
			clear(m)
		}
		for _, d := range dels {
			if v, has := m[d.key]; has && (d.anyValue || v == d.value) {
				delete(m, d.key)
			}
		}
	}
	r.commitLocked()
	q.EC2Response("DeleteTags", func(b *core.XMLBuf) { b.El("return", "true") })
}

func (r *Room) describeTags(q *core.Request, f url.Values) {
	type row struct{ id, typ, key, value string }
	var rows []row
	add := func(id, typ string, tags map[string]string) {
		for _, k := range core.SortedKeys(tags) {
			rows = append(rows, row{id, typ, k, tags[k]})
		}
	}
	for _, g := range r.sortedGroups(q.Region) {
		add(g.ID, "security-group", g.Tags)
	}
	for _, id := range core.SortedKeys(r.st.Tags) {
		if typ := r.resourceType(q.Region, id); typ != "" {
			add(id, typ, r.st.Tags[id])
		}
	}
	fs := parseFilters(f)
	rowAttrs := func(x row) attrs {
		return func(name string) ([]string, bool) {
			switch name {
			case "resource-id":
				return []string{x.id}, true
			case "resource-type":
				return []string{x.typ}, true
			case "key":
				return []string{x.key}, true
			case "value":
				return []string{x.value}, true
			}
			return nil, false
		}
	}
	if n := unknownFilter(fs, rowAttrs(row{})); n != "" {
		badFilter(q, n)
		return
	}
	q.EC2Response("DescribeTags", func(b *core.XMLBuf) {
		b.Open("tagSet")
		for _, x := range rows {
			if !matches(fs, rowAttrs(x)) {
				continue
			}
			b.Open("item")
			b.El("resourceId", x.id)
			b.El("resourceType", x.typ)
			b.El("key", x.key)
			b.El("value", x.value)
			b.End("item")
		}
		b.End("tagSet")
	})
}
