package rds

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

// form reads a query call's parameters; the first bad value is kept in err and answered
// once with InvalidParameterValue.
type form struct {
	q   *core.Request
	err string
}

func (f *form) str(name string) string { return f.q.R.Form.Get(name) }

func (f *form) has(name string) bool { return f.q.R.Form.Has(name) }

// list reads prefix.1, prefix.2, ... until one is missing.
func (f *form) list(prefix string) []string {
	var out []string
	for i := 1; ; i++ {
		v, ok := f.q.R.Form[prefix+"."+strconv.Itoa(i)]
		if !ok {
			return out
		}
		out = append(out, v[0])
	}
}

// tags reads Tags.Tag.N.Key/Value.
func (f *form) tags() map[string]string {
	out := map[string]string{}
	for i := 1; ; i++ {
		p := "Tags.Tag." + strconv.Itoa(i) + "."
		if !f.has(p + "Key") {
			return out
		}
		out[f.str(p+"Key")] = f.str(p + "Value")
	}
}

type filter struct {
	Name   string
	Values []string
}

// filters reads Filters.Filter.N.Name and .Values.Value.M.
func (f *form) filters() []filter {
	var out []filter
	for i := 1; ; i++ {
		p := "Filters.Filter." + strconv.Itoa(i) + "."
		if !f.has(p + "Name") {
			return out
		}
		out = append(out, filter{Name: f.str(p + "Name"), Values: f.list(p + "Values.Value")})
	}
}

// boolean reads a true/false parameter; def when absent.
func (f *form) boolean(name string, def bool) bool {
	v := f.str(name)
	switch strings.ToLower(v) {
	case "":
		return def
	case "true":
		return true
	case "false":
		return false
	}
	f.fail("Invalid value %q for %s: use true or false", v, name)
	return def
}

// integer reads a whole-number parameter; def when absent.
func (f *form) integer(name string, def int) int {
	v := f.str(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		f.fail("Invalid value %q for %s: a whole number is expected", v, name)
		return def
	}
	return n
}

func (f *form) fail(format string, args ...any) {
	if f.err == "" {
		f.err = fmt.Sprintf(format, args...)
	}
}

// bad answers InvalidParameterValue when a value was malformed; true = answered.
func (f *form) bad() bool {
	if f.err == "" {
		return false
	}
	sender(f.q, http.StatusBadRequest, "InvalidParameterValue", f.err)
	return true
}
