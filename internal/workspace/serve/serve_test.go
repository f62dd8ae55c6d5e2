package serve

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/rudderctl/rudderctl/internal/workspace"
)

const exampleDir = "../../../examples/workspace"

// exampleBundle compiles the example workspace with source "website"'s write key generated
// by the stack (as the deploy does for a source without one) and returns the compiled
// workspace (rendered with the real key, for comparison) and the bundle.
func exampleBundle(t *testing.T, websiteKey string) (want *workspace.Compiled, bundle []byte) {
	t.Helper()
	f, err := workspace.Load(filepath.Join(exampleDir, workspace.DefaultFile))
	if err != nil {
		t.Fatal(err)
	}
	for i := range f.Sources {
		if f.Sources[i].Name == "website" {
			f.Sources[i].WriteKey = nil
		}
	}
	generated := []string{"website"}
	c, err := workspace.Compile(context.Background(), f, workspace.Options{WriteKeys: MarkerWriteKeys(generated)})
	if err != nil {
		t.Fatal(err)
	}
	bundle, err = NewBundle(c, generated)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(bundle, []byte(websiteKey)) {
		t.Fatal("the bundle holds the generated write key")
	}
	want, err = workspace.Compile(context.Background(), f, workspace.Options{WriteKeys: map[string]string{"website": websiteKey}})
	if err != nil {
		t.Fatal(err)
	}
	return want, bundle
}

// client is a tiny HTTP client for the server's routes.
type client struct {
	t    *testing.T
	base string
}

type reply struct {
	status int
	header http.Header
	body   []byte
}

func (c client) get(path string, header ...string) reply {
	c.t.Helper()
	return c.do(http.MethodGet, path, header...)
}

func (c client) do(method, path string, header ...string) reply {
	c.t.Helper()
	req, err := http.NewRequest(method, c.base+path, nil)
	if err != nil {
		c.t.Fatal(err)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Add(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, body}
}

func basic(user string) string {
	req, _ := http.NewRequest("GET", "http://x", nil)
	req.SetBasicAuth(user, "")
	return req.Header.Get("Authorization")
}

const (
	testToken  = "tok-0123456789abcdef0123456789abcdef"
	testKey    = "2GeneratedWebsiteKey0000001"
	testSecret = "hosted-secret-1"
	testPrefix = "/s3cr3tprefix"
)

// checkServes runs every behaviour of the routes against a server reached at base (with the
// secret prefix testPrefix in front of every path), whatever runs it.
func checkServes(t *testing.T, base string, want *workspace.Compiled) {
	c := client{t, base + testPrefix}
	cfgPath := PathConfig + "?fetchAll=true"

	// The token gets the rendered config, with the generated key put in.
	r := c.get(cfgPath, "Authorization", basic(testToken), "Content-Type", "application/json")
	if r.status != 200 || !bytes.Equal(r.body, want.Config) {
		t.Fatalf("config with the token: %d, body equal to the render: %v\n%s", r.status, bytes.Equal(r.body, want.Config), r.body)
	}
	etag := r.header.Get("ETag")
	if etag == "" || !strings.Contains(r.header.Get("Cache-Control"), "no-cache") || r.header.Get("Content-Type") != "application/json" {
		t.Errorf("config headers: %v", r.header)
	}
	// A wrong, empty or missing token: 401 and nothing of the workspace.
	for name, hdr := range map[string][]string{
		"wrong token":   {"Authorization", basic(testToken + "x")},
		"prefix token":  {"Authorization", basic(testToken[:10])},
		"hosted secret": {"Authorization", basic(testSecret)},
		"bearer":        {"Authorization", "Bearer " + testToken},
		"missing":       nil,
	} {
		r := c.get(cfgPath, hdr...)
		if r.status != 401 || bytes.Contains(r.body, []byte(want.WorkspaceID)) || bytes.Contains(r.body, []byte(testKey)) || r.header.Get("ETag") != "" {
			t.Errorf("%s: %d %s %v", name, r.status, r.body, r.header)
		}
		if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Basic ") {
			t.Errorf("%s: WWW-Authenticate %q", name, r.header.Get("WWW-Authenticate"))
		}
	}
	// Revalidation: the same ETag is 304 with no body; another is 200.
	r = c.get(cfgPath, "Authorization", basic(testToken), "If-None-Match", `"other", `+etag)
	if r.status != 304 || len(r.body) != 0 || r.header.Get("ETag") != etag {
		t.Errorf("If-None-Match with the ETag: %d %q %v", r.status, r.body, r.header)
	}
	if r := c.get(cfgPath, "Authorization", basic(testToken), "If-None-Match", `"other"`); r.status != 200 {
		t.Errorf("If-None-Match with another ETag: %d", r.status)
	}
	// Even with the right ETag, no token is 401 (auth before anything else).
	if r := c.get(cfgPath, "If-None-Match", etag); r.status != 401 {
		t.Errorf("If-None-Match without a token: %d", r.status)
	}
	// HEAD: headers, no body.
	if r := c.do(http.MethodHead, cfgPath, "Authorization", basic(testToken)); r.status != 200 || len(r.body) != 0 || r.header.Get("ETag") != etag {
		t.Errorf("HEAD: %d %d bytes %v", r.status, len(r.body), r.header)
	}
	if r := c.do(http.MethodPost, cfgPath, "Authorization", basic(testToken)); r.status != 405 || r.header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: %d %v", r.status, r.header)
	}

	// The code routes answer what the transformer reads, guarded by the hosted secret.
	fn := want.Functions[0]
	tPath := PathTransformation + "?versionId=" + fn.VersionID
	answer, _ := want.TransformationAnswer(fn.VersionID)
	r = c.get(tPath, "Authorization", basic(testSecret))
	if r.status != 200 || !bytes.Equal(r.body, answer) || !strings.Contains(r.header.Get("Cache-Control"), "immutable") {
		t.Fatalf("transformation: %d %s %v", r.status, r.body, r.header)
	}
	var got struct{ VersionID, Code, CodeVersion string }
	if err := json.Unmarshal(r.body, &got); err != nil || got.VersionID != fn.VersionID || !strings.Contains(got.Code, "transformEvent") || got.CodeVersion != "1" {
		t.Errorf("transformation answer: %+v %v", got, err)
	}
	if r2 := c.get(tPath, "Authorization", basic(testSecret), "If-None-Match", r.header.Get("ETag")); r2.status != 304 || len(r2.body) != 0 {
		t.Errorf("transformation revalidation: %d", r2.status)
	}
	for name, hdr := range map[string][]string{"no secret": nil, "token instead": {"Authorization", basic(testToken)}} {
		if r := c.get(tPath, hdr...); r.status != 401 || bytes.Contains(r.body, []byte("transformEvent")) {
			t.Errorf("transformation, %s: %d %s", name, r.status, r.body)
		}
	}
	lib := want.Libraries[0]
	libAnswer, _ := want.LibraryAnswer(lib.VersionID)
	if r := c.get(PathLibrary+"?versionId="+lib.VersionID, "Authorization", basic(testSecret)); r.status != 200 || !bytes.Equal(r.body, libAnswer) {
		t.Errorf("library: %d %s", r.status, r.body)
	}
	// A function's version is not a library's, and an unknown version is 404.
	if r := c.get(PathLibrary+"?versionId="+fn.VersionID, "Authorization", basic(testSecret)); r.status != 404 {
		t.Errorf("library route with a function's version: %d", r.status)
	}
	if r := c.get(PathTransformation+"?versionId=nope", "Authorization", basic(testSecret)); r.status != 404 {
		t.Errorf("unknown version: %d", r.status)
	}
	if r := c.get(PathTransformation, "Authorization", basic(testSecret)); r.status != 400 {
		t.Errorf("no versionId: %d", r.status)
	}
	if r := c.get("/other", "Authorization", basic(testToken)); r.status != 404 {
		t.Errorf("unknown route: %d", r.status)
	}
}

func testSettings() Settings {
	return Settings{Token: testToken, WriteKeys: map[string]string{"website": testKey}, HostedSecret: testSecret, PathPrefix: testPrefix}
}

func TestServerOverHTTP(t *testing.T) {
	want, bundle := exampleBundle(t, testKey)
	b, err := ParseBundle(bundle)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(b, testSettings())
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	checkServes(t, ts.URL, want)
	// Without the secret prefix nothing is served, whatever the credentials.
	c := client{t, ts.URL}
	if r := c.get(PathConfig+"?fetchAll=true", "Authorization", basic(testToken)); r.status != 404 || bytes.Contains(r.body, []byte(want.WorkspaceID)) {
		t.Errorf("without the prefix: %d %s", r.status, r.body)
	}
}

// rudder-server POSTs its features to .../settings once it has a config and logs an error
// unless the answer is 204: with the token it gets 204, without it 401.
func TestServerTakesRudderServerSettings(t *testing.T) {
	_, bundle := exampleBundle(t, testKey)
	b, err := ParseBundle(bundle)
	if err != nil {
		t.Fatal(err)
	}
	srv, err := New(b, testSettings())
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv)
	defer ts.Close()
	c := client{t, ts.URL + testSettings().PathPrefix}
	path := "/data-plane/v1/workspaces/some-id/settings"
	for _, tc := range []struct {
		method string
		header []string
		want   int
	}{
		{http.MethodPost, []string{"Authorization", basic(testToken)}, http.StatusNoContent},
		{http.MethodPost, []string{"Authorization", basic("wrong")}, http.StatusUnauthorized},
		{http.MethodPost, nil, http.StatusUnauthorized},
		{http.MethodGet, []string{"Authorization", basic(testToken)}, http.StatusMethodNotAllowed},
	} {
		if r := c.do(tc.method, path, tc.header...); r.status != tc.want {
			t.Errorf("%s %s with %v: %d, want %d", tc.method, path, tc.header, r.status, tc.want)
		}
	}
	for _, p := range []string{"/data-plane/v1/workspaces//settings", "/data-plane/v1/workspaces/a/b/settings"} {
		if r := c.do(http.MethodPost, p, "Authorization", basic(testToken)); r.status != http.StatusNotFound {
			t.Errorf("POST %s: %d, want 404", p, r.status)
		}
	}
}

func TestServerRefusesToStartWithoutSecrets(t *testing.T) {
	_, bundle := exampleBundle(t, testKey)
	b, err := ParseBundle(bundle)
	if err != nil {
		t.Fatal(err)
	}
	s := testSettings()
	s.Token = ""
	if _, err := New(b, s); err == nil {
		t.Error("a server without a token started")
	}
	s = testSettings()
	s.WriteKeys = nil
	if _, err := New(b, s); err == nil || !strings.Contains(err.Error(), "website") {
		t.Errorf("a server missing a generated write key: %v", err)
	}
	env := map[string]string{EnvToken: testToken, EnvWriteKeys: `{"website": "` + testKey}
	_, err = SettingsFromEnv(func(k string) string { return env[k] })
	if err == nil || strings.Contains(err.Error(), testKey) {
		t.Errorf("a broken %s: %v (must fail without echoing the keys)", EnvWriteKeys, err)
	}
}

func TestBundleIsDeterministicAndSecretFree(t *testing.T) {
	_, a := exampleBundle(t, testKey)
	_, b := exampleBundle(t, "another-key")
	if !bytes.Equal(a, b) {
		t.Error("the bundle depends on the generated write key's value")
	}
	if !bytes.Contains(a, []byte(WriteKeyMarker("website"))) {
		t.Error("the bundle has no marker for the generated key")
	}
}
