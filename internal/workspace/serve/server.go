package serve

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
)

// The function's environment (set by the deploy; never in the zip).
const (
	// EnvToken is the workspace token rudder-server sends as the HTTP Basic user
	// (its WORKSPACE_TOKEN). Required: the server refuses to start without it.
	EnvToken = "RUDDERCTL_WORKSPACE_TOKEN"
	// EnvWriteKeys is a JSON object, source name -> write key, for the generated keys.
	EnvWriteKeys = "RUDDERCTL_WRITE_KEYS"
	// EnvHostedSecret, when set, guards the code routes: the transformer sends it as the
	// HTTP Basic user (rudder-transformer's CONFIG_BACKEND_HOSTED_SECRET, same name).
	EnvHostedSecret = "CONFIG_BACKEND_HOSTED_SECRET"
	// EnvPathPrefix is the stack's secret path prefix (as the adapter's): a path without it
	// gets 404, and it is stripped before routing.
	EnvPathPrefix = "RUDDERCTL_PATH_PREFIX"
)

// The routes.
const (
	PathConfig         = "/workspaceConfig"
	PathTransformation = "/transformation/getByVersionId"
	PathLibrary        = "/transformationLibrary/getByVersionId"
	// PathSettings is where rudder-server POSTs its features once it has a config
	// (services/controlplane SendFeatures, "/data-plane/v1/workspaces/<id>/settings"); it
	// logs an error unless the answer is 204, so the stack accepts them.
	PathSettings = "/data-plane/v1/workspaces/{workspaceId}/settings"
)

// Cache-Control of the answers: the config changes with every deploy and carries write
// keys, so caches must ask each time and never share it; code by version id never changes
// (a code change is a new version id).
const (
	cacheConfig = "private, no-cache, must-revalidate"
	cacheCode   = "private, max-age=31536000, immutable"
	cacheNever  = "no-store"
)

// Settings are the server's secrets, from the function's environment.
type Settings struct {
	Token        string
	WriteKeys    map[string]string
	HostedSecret string
	PathPrefix   string
}

// SettingsFromEnv reads Settings with getenv (os.Getenv in the function).
func SettingsFromEnv(getenv func(string) string) (Settings, error) {
	s := Settings{
		Token:        getenv(EnvToken),
		HostedSecret: strings.TrimSpace(getenv(EnvHostedSecret)),
		PathPrefix:   getenv(EnvPathPrefix),
	}
	if s.Token == "" {
		return s, fmt.Errorf("%s is not set: the workspace server does not serve the workspace without a token; deploy it with rudderctl deploy workspace", EnvToken)
	}
	if raw := getenv(EnvWriteKeys); raw != "" {
		if err := json.Unmarshal([]byte(raw), &s.WriteKeys); err != nil {
			// The value holds keys: the error says where, not what.
			return s, fmt.Errorf("%s is not a JSON object of source name to write key; deploy again with rudderctl deploy workspace", EnvWriteKeys)
		}
	}
	if s.PathPrefix != "" && (!strings.HasPrefix(s.PathPrefix, "/") || strings.HasSuffix(s.PathPrefix, "/")) {
		return s, fmt.Errorf("%s must look like /abc (a leading slash, no trailing one)", EnvPathPrefix)
	}
	return s, nil
}

// Request is one HTTP request as the server sees it.
type Request struct {
	Method string
	Path   string // as received, with the prefix
	Query  url.Values
	Header http.Header
}

// Response is the answer. Body is empty for HEAD and 304.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// answer is a body ready to serve with its validator.
type answer struct {
	body []byte
	etag string
}

func newAnswer(body []byte) answer {
	sum := sha256.Sum256(body)
	return answer{body: body, etag: `"` + base64.RawURLEncoding.EncodeToString(sum[:]) + `"`}
}

// Server answers from a bundle. It is safe for concurrent use (read-only after New).
type Server struct {
	s               Settings
	workspaceID     string
	config          answer
	transformations map[string]answer
	libraries       map[string]answer
	tokenHash       [32]byte
	secretHash      [32]byte
}

// New prepares every answer (write keys put in, ETags computed) once.
func New(b *Bundle, s Settings) (*Server, error) {
	if s.Token == "" {
		return nil, errors.New("no workspace token: the workspace server does not serve the workspace without one")
	}
	cfg, err := b.configWithKeys(s.WriteKeys)
	if err != nil {
		return nil, err
	}
	srv := &Server{
		s:               s,
		workspaceID:     b.WorkspaceID,
		config:          newAnswer(cfg),
		transformations: map[string]answer{},
		libraries:       map[string]answer{},
		tokenHash:       sha256.Sum256([]byte(s.Token)),
		secretHash:      sha256.Sum256([]byte(s.HostedSecret)),
	}
	for v, body := range b.Transformations {
		srv.transformations[v] = newAnswer([]byte(body))
	}
	for v, body := range b.Libraries {
		srv.libraries[v] = newAnswer([]byte(body))
	}
	return srv, nil
}

// Outcome says what a request was, for the function's log line (never a secret).
type Outcome struct {
	Route     string // "config", "transformation", "library", "settings", or "" when nothing matched
	VersionID string
	Status    int
}

// Serve answers one request.
func (srv *Server) Serve(r Request) (Response, Outcome) {
	path, ok := srv.stripPrefix(r.Path)
	if !ok {
		return jsonError(http.StatusNotFound, "not found"), Outcome{Status: http.StatusNotFound}
	}
	var route string
	switch path {
	case PathConfig:
		route = "config"
	case PathTransformation:
		route = "transformation"
	case PathLibrary:
		route = "library"
	default:
		if isSettingsPath(path) {
			route = "settings"
			break
		}
		return jsonError(http.StatusNotFound, "not found"), Outcome{Status: http.StatusNotFound}
	}
	out := Outcome{Route: route}
	resp := srv.route(route, r, &out)
	out.Status = resp.Status
	if r.Method == http.MethodHead {
		resp.Body = nil
	}
	return resp, out
}

func (srv *Server) route(route string, r Request, out *Outcome) Response {
	if route == "settings" {
		return srv.settings(r)
	}
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		resp := jsonError(http.StatusMethodNotAllowed, "only GET and HEAD")
		resp.Header.Set("Allow", "GET, HEAD")
		return resp
	}
	if route == "config" {
		if !srv.tokenOK(r.Header) {
			return unauthorized("rudderctl workspace")
		}
		return conditional(srv.config, cacheConfig, r.Header)
	}
	if srv.s.HostedSecret != "" && !srv.secretOK(r.Header) {
		return unauthorized("rudderctl workspace code")
	}
	versionID := r.Query.Get("versionId")
	out.VersionID = versionID
	if versionID == "" {
		return jsonError(http.StatusBadRequest, "versionId is missing: GET "+PathTransformation+"?versionId=...")
	}
	set, what := srv.transformations, "transformation"
	if route == "library" {
		set, what = srv.libraries, "transformation library"
	}
	a, found := set[versionID]
	if !found {
		return jsonError(http.StatusNotFound, fmt.Sprintf("no %s with versionId %s in workspace %s", what, versionID, srv.workspaceID))
	}
	return conditional(a, cacheCode, r.Header)
}

// settings takes rudder-server's features report: 204 with the token, nothing kept (a
// self-hosted stack has no use for it beyond a quiet server log).
func (srv *Server) settings(r Request) Response {
	if r.Method != http.MethodPost {
		resp := jsonError(http.StatusMethodNotAllowed, "only POST")
		resp.Header.Set("Allow", "POST")
		return resp
	}
	if !srv.tokenOK(r.Header) {
		return unauthorized("rudderctl workspace")
	}
	hdr := http.Header{}
	hdr.Set("Cache-Control", cacheNever)
	return Response{Status: http.StatusNoContent, Header: hdr}
}

// isSettingsPath matches PathSettings with any one-segment workspace id.
func isSettingsPath(p string) bool {
	rest, ok := strings.CutPrefix(p, "/data-plane/v1/workspaces/")
	if !ok {
		return false
	}
	id, ok := strings.CutSuffix(rest, "/settings")
	return ok && id != "" && !strings.Contains(id, "/")
}

// stripPrefix removes the secret prefix: "/p/x" -> "/x"; a path without it is refused.
func (srv *Server) stripPrefix(p string) (string, bool) {
	pre := srv.s.PathPrefix
	if pre == "" {
		return p, true
	}
	if p == pre {
		return "/", true
	}
	if !strings.HasPrefix(p, pre+"/") {
		return "", false
	}
	return p[len(pre):], true
}

// tokenOK compares the Basic user with the token in constant time (hashes first, so the
// comparison does not depend on the lengths either). The password is not read: rudder-server
// sends it empty.
func (srv *Server) tokenOK(h http.Header) bool {
	return basicUserMatches(h, srv.tokenHash)
}

func (srv *Server) secretOK(h http.Header) bool {
	return basicUserMatches(h, srv.secretHash)
}

func basicUserMatches(h http.Header, want [32]byte) bool {
	user, ok := basicUser(h.Get("Authorization"))
	if !ok {
		return false
	}
	got := sha256.Sum256([]byte(user))
	return subtle.ConstantTimeCompare(got[:], want[:]) == 1
}

// basicUser is the user of an HTTP Basic Authorization value.
func basicUser(v string) (string, bool) {
	scheme, cred, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok || !strings.EqualFold(scheme, "Basic") {
		return "", false
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(cred))
	if err != nil {
		return "", false
	}
	user, _, ok := strings.Cut(string(raw), ":")
	return user, ok && user != ""
}

// conditional is 200 with the body, or 304 when If-None-Match names its ETag.
func conditional(a answer, cacheControl string, h http.Header) Response {
	hdr := http.Header{}
	hdr.Set("ETag", a.etag)
	hdr.Set("Cache-Control", cacheControl)
	if etagMatches(h.Values("If-None-Match"), a.etag) {
		return Response{Status: http.StatusNotModified, Header: hdr}
	}
	hdr.Set("Content-Type", "application/json")
	return Response{Status: http.StatusOK, Header: hdr, Body: a.body}
}

// etagMatches is If-None-Match's weak comparison (RFC 9110 13.1.2): "*", or any listed tag
// equal to ours with or without W/.
func etagMatches(values []string, etag string) bool {
	for _, v := range values {
		for _, t := range strings.Split(v, ",") {
			t = strings.TrimSpace(t)
			if t == "*" || strings.TrimPrefix(t, "W/") == etag {
				return true
			}
		}
	}
	return false
}

func unauthorized(realm string) Response {
	r := jsonError(http.StatusUnauthorized, "unauthorized")
	r.Header.Set("WWW-Authenticate", `Basic realm="`+realm+`"`)
	return r
}

func jsonError(status int, msg string) Response {
	body, _ := json.Marshal(map[string]string{"error": msg, "source": "rudderctl-workspace"})
	hdr := http.Header{}
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Cache-Control", cacheNever)
	return Response{Status: status, Header: hdr, Body: body}
}

// ServeHTTP lets the same server run behind a plain listener (tests, local runs).
func (srv *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	resp, _ := srv.Serve(Request{Method: r.Method, Path: r.URL.Path, Query: r.URL.Query(), Header: r.Header})
	writeHTTP(w, resp)
}

func writeHTTP(w http.ResponseWriter, resp Response) {
	keys := make([]string, 0, len(resp.Header))
	for k := range resp.Header {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		w.Header()[k] = resp.Header[k]
	}
	w.WriteHeader(resp.Status)
	w.Write(resp.Body)
}
