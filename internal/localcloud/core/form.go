package core

// Lists and maps in query-protocol forms: "Prefix.1", "Prefix.2" (EC2) or
// "Prefix.member.1" (IAM, ELBv2), each item a value or a group of "Prefix.N.Field" keys.

import (
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// FormIndexes are the item prefixes of a list in a form: for prefix "Filter" the sorted
// distinct "Filter.1", "Filter.2", ... that appear as a key or a key's start.
func FormIndexes(f url.Values, prefix string) []string {
	seen := map[int]bool{}
	for k := range f {
		rest, ok := strings.CutPrefix(k, prefix+".")
		if !ok {
			continue
		}
		num, _, _ := strings.Cut(rest, ".")
		if n, err := strconv.Atoi(num); err == nil && n > 0 {
			seen[n] = true
		}
	}
	nums := make([]int, 0, len(seen))
	for n := range seen {
		nums = append(nums, n)
	}
	sort.Ints(nums)
	out := make([]string, len(nums))
	for i, n := range nums {
		out[i] = prefix + "." + strconv.Itoa(n)
	}
	return out
}

// FormList is the values of a list of scalars ("GroupId.1", "GroupId.2", ...).
func FormList(f url.Values, prefix string) []string {
	var out []string
	for _, p := range FormIndexes(f, prefix) {
		out = append(out, f.Get(p))
	}
	return out
}
