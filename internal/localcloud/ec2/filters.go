package ec2

import (
	"net/url"
	"regexp"
	"strings"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

// filter is one Filter.N of a Describe call: a name and the values any of which matches.
type filter struct {
	Name   string
	Values []*regexp.Regexp
}

// parseFilters reads Filter.N.Name / Filter.N.Value.M. Values are EC2 globs (* and ?).
func parseFilters(f url.Values) []filter {
	var out []filter
	for _, p := range core.FormIndexes(f, "Filter") {
		fl := filter{Name: f.Get(p + ".Name")}
		for _, v := range core.FormList(f, p+".Value") {
			fl.Values = append(fl.Values, glob(v))
		}
		out = append(out, fl)
	}
	return out
}

func glob(v string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for _, r := range v {
		switch r {
		case '*':
			b.WriteString(".*")
		case '?':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

// attrs gives a resource's values for a filter name; known=false for a name the resource
// type does not filter on.
type attrs func(name string) (values []string, known bool)

// withTags adds the tag:KEY, tag-key and tag-value filters to a resource's attributes.
func withTags(a attrs, tags map[string]string) attrs {
	return func(name string) ([]string, bool) {
		if k, ok := strings.CutPrefix(name, "tag:"); ok {
			if v, has := tags[k]; has {
				return []string{v}, true
			}
			return nil, true
		}
		switch name {
		case "tag-key":
			return core.SortedKeys(tags), true
		case "tag-value":
			var vs []string
			for _, v := range tags {
				vs = append(vs, v)
			}
			return vs, true
		}
		return a(name)
	}
}

// unknownFilter is the first filter name a resource type does not know, "" when none.
func unknownFilter(fs []filter, a attrs) string {
	for _, fl := range fs {
		if _, known := a(fl.Name); !known {
			return fl.Name
		}
	}
	return ""
}

// matches: every filter has a value that matches one of the resource's values.
func matches(fs []filter, a attrs) bool {
	for _, fl := range fs {
		values, _ := a(fl.Name)
		hit := false
		for _, v := range values {
			for _, re := range fl.Values {
				if re.MatchString(v) {
					hit = true
				}
			}
		}
		if !hit {
			return false
		}
	}
	return true
}

func badFilter(q *core.Request, name string) {
	bad(q, "InvalidParameterValue", "The filter '"+name+"' is invalid")
}

// tagSpecs reads TagSpecification.N (ResourceType, Tag.M.Key/Value) for one resource type.
func tagSpecs(f url.Values, resourceType string) map[string]string {
	tags := map[string]string{}
	for _, p := range core.FormIndexes(f, "TagSpecification") {
		if f.Get(p+".ResourceType") != resourceType {
			continue
		}
		for k, v := range formTags(f, p+".Tag") {
			tags[k] = v
		}
	}
	return tags
}

// formTags reads prefix.N.Key / prefix.N.Value.
func formTags(f url.Values, prefix string) map[string]string {
	tags := map[string]string{}
	for _, p := range core.FormIndexes(f, prefix) {
		tags[f.Get(p+".Key")] = f.Get(p + ".Value")
	}
	return tags
}

func writeTagSet(b *core.XMLBuf, tags map[string]string) {
	if len(tags) == 0 {
		return
	}
	b.Open("tagSet")
	for _, k := range core.SortedKeys(tags) {
		b.Open("item")
		b.El("key", k)
		b.El("value", tags[k])
		b.End("item")
	}
	b.End("tagSet")
}
