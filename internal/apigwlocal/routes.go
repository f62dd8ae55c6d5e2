package apigwlocal

import (
	"strings"
)

// MatchRoute selects the route API Gateway would select for a request among route keys such as
// "ANY /{proxy+}", "POST /customTransform", "GET /pets/{id}" and "$default". The most specific
// route wins: an exact path beats one with parameters, more literal segments beat fewer, a
// {param} beats a greedy {proxy+}, and a specific method beats ANY; "$default" catches what no
// other route matches. key is the route key as given, params its path parameters (a greedy
// parameter gets the rest of the path, without the leading slash).
func MatchRoute(routeKeys []string, method, path string) (key string, params map[string]string, ok bool) {
	if path == "" {
		path = "/"
	}
	reqSegs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	best := -1
	var bestScore score
	hasDefault := false
	for idx, rk := range routeKeys {
		if strings.TrimSpace(rk) == "$default" {
			hasDefault = true
			continue
		}
		m, p, found := strings.Cut(strings.TrimSpace(rk), " ")
		if !found {
			continue
		}
		m = strings.ToUpper(m)
		if m != "ANY" && m != strings.ToUpper(method) {
			continue
		}
		sc, pp, matched := matchPath(strings.TrimSpace(p), reqSegs)
		if !matched {
			continue
		}
		sc.methodSpecific = m != "ANY"
		if best < 0 || sc.better(bestScore) {
			best, bestScore, params = idx, sc, pp
		}
	}
	if best >= 0 {
		return routeKeys[best], params, true
	}
	if hasDefault {
		return "$default", nil, true
	}
	return "", nil, false
}

type score struct {
	exact          bool // no parameters at all
	literals       int
	noGreedy       bool
	methodSpecific bool
}

func (a score) better(b score) bool {
	if a.exact != b.exact {
		return a.exact
	}
	if a.literals != b.literals {
		return a.literals > b.literals
	}
	if a.noGreedy != b.noGreedy {
		return a.noGreedy
	}
	if a.methodSpecific != b.methodSpecific {
		return a.methodSpecific
	}
	return false // first declared wins a tie
}

// matchPath matches a route path such as /pets/{id}/{proxy+} against request segments.
func matchPath(routePath string, req []string) (score, map[string]string, bool) {
	if !strings.HasPrefix(routePath, "/") {
		return score{}, nil, false
	}
	segs := strings.Split(strings.TrimPrefix(routePath, "/"), "/")
	if routePath == "/" {
		segs = []string{""}
	}
	sc := score{exact: true, noGreedy: true}
	params := map[string]string{}
	for i, s := range segs {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "+}") {
			if i != len(segs)-1 {
				return score{}, nil, false // greedy only as the last segment
			}
			rest := req[i:]
			if len(rest) == 0 || (len(rest) == 1 && rest[0] == "") {
				return score{}, nil, false // a greedy parameter needs at least one segment
			}
			params[strings.TrimSuffix(strings.TrimPrefix(s, "{"), "+}")] = strings.Join(rest, "/")
			sc.exact, sc.noGreedy = false, false
			return sc, params, true
		}
		if i >= len(req) {
			return score{}, nil, false
		}
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			if req[i] == "" {
				return score{}, nil, false
			}
			params[strings.TrimSuffix(strings.TrimPrefix(s, "{"), "}")] = req[i]
			sc.exact = false
			continue
		}
		if s != req[i] {
			return score{}, nil, false
		}
		sc.literals++
	}
	if len(segs) != len(req) {
		return score{}, nil, false
	}
	if len(params) == 0 {
		params = nil
	}
	return sc, params, true
}
