package apigateway

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/rudderctl/rudderctl/internal/localcloud/arns"
	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

type apiRec struct {
	ID                       string                     `json:"id"`
	Name                     string                     `json:"name"`
	Region                   string                     `json:"region"`
	ProtocolType             string                     `json:"protocol_type"`
	RouteSelectionExpression string                     `json:"route_selection_expression"`
	Description              string                     `json:"description,omitempty"`
	Version                  string                     `json:"version,omitempty"`
	DisableExecuteAPI        bool                       `json:"disable_execute_api,omitempty"`
	Created                  time.Time                  `json:"created"`
	Tags                     map[string]string          `json:"tags"`
	Integrations             map[string]*integrationRec `json:"integrations"`
	Routes                   map[string]*routeRec       `json:"routes"`
	Stages                   map[string]*stageRec       `json:"stages"`
}

type integrationRec struct {
	ID                   string `json:"id"`
	Type                 string `json:"type"`
	URI                  string `json:"uri"`
	Method               string `json:"method,omitempty"`
	PayloadFormatVersion string `json:"payload_format_version"`
	ConnectionType       string `json:"connection_type"`
	Description          string `json:"description,omitempty"`
	TimeoutMillis        int    `json:"timeout_millis"`
}

type routeRec struct {
	ID                string `json:"id"`
	RouteKey          string `json:"route_key"`
	Target            string `json:"target,omitempty"`
	AuthorizationType string `json:"authorization_type"`
	OperationName     string `json:"operation_name,omitempty"`
	APIKeyRequired    bool   `json:"api_key_required,omitempty"`
}

type stageRec struct {
	Name           string            `json:"name"`
	Description    string            `json:"description,omitempty"`
	AutoDeploy     bool              `json:"auto_deploy"`
	DeploymentID   string            `json:"deployment_id,omitempty"`
	StageVariables map[string]string `json:"stage_variables,omitempty"`
	Tags           map[string]string `json:"tags"`
	Created        time.Time         `json:"created"`
	Updated        time.Time         `json:"updated"`
}

func (a *apiRec) fixup() {
	if a.Tags == nil {
		a.Tags = map[string]string{}
	}
	if a.Integrations == nil {
		a.Integrations = map[string]*integrationRec{}
	}
	if a.Routes == nil {
		a.Routes = map[string]*routeRec{}
	}
	if a.Stages == nil {
		a.Stages = map[string]*stageRec{}
	}
	for _, s := range a.Stages {
		if s.Tags == nil {
			s.Tags = map[string]string{}
		}
	}
}

func (a *apiRec) arn() string { return "arn:aws:apigateway:" + a.Region + "::/apis/" + a.ID }
func (a *apiRec) stageARN(stage string) string {
	return a.arn() + "/stages/" + stage
}

func (r *Room) apiJSON(a *apiRec) map[string]any {
	out := map[string]any{
		"apiId":                     a.ID,
		"name":                      a.Name,
		"protocolType":              a.ProtocolType,
		"routeSelectionExpression":  a.RouteSelectionExpression,
		"apiKeySelectionExpression": "$request.header.x-api-key",
		"createdDate":               a.Created.UTC().Format(time.RFC3339),
		"disableExecuteApiEndpoint": a.DisableExecuteAPI,
		"ipAddressType":             "ipv4",
		"tags":                      a.Tags,
	}
	if p := r.st.Ports[a.ID]; p != 0 {
		out["apiEndpoint"] = "http://127.0.0.1:" + strconv.Itoa(p)
	}
	if a.Description != "" {
		out["description"] = a.Description
	}
	if a.Version != "" {
		out["version"] = a.Version
	}
	return out
}

func (r *Room) newAPIID() string {
	for {
		id := core.RandomID(10)
		if r.st.APIs[id] == nil {
			return id
		}
	}
}

func (r *Room) apiCreate(q *core.Request, b map[string]json.RawMessage) {
	name, _ := jstr(b, "name")
	proto, _ := jstr(b, "protocolType")
	if name == "" || len(name) > 128 {
		badRequest(q, "Invalid API name specified")
		return
	}
	if proto != "HTTP" && proto != "WEBSOCKET" {
		badRequest(q, "Invalid protocol type specified; must be HTTP or WEBSOCKET")
		return
	}
	rse, ok := jstr(b, "routeSelectionExpression")
	if !ok {
		rse = "$request.method $request.path"
	}
	if proto == "WEBSOCKET" {
		badRequest(q, "localcloud supports HTTP APIs only")
		return
	}
	a := &apiRec{ID: r.newAPIID(), Name: name, Region: q.Region, ProtocolType: proto, RouteSelectionExpression: rse,
		Created: time.Now().UTC(), Tags: jmap(b, "tags")}
	a.Description, _ = jstr(b, "description")
	a.Version, _ = jstr(b, "version")
	a.DisableExecuteAPI, _ = jbool(b, "disableExecuteApiEndpoint")
	a.fixup()
	// Quick create: target makes an integration, a route and the $default stage.
	if target, ok := jstr(b, "target"); ok && target != "" {
		integ := &integrationRec{ID: core.RandomID(7), Type: "AWS_PROXY", URI: target, Method: "POST", PayloadFormatVersion: "2.0", ConnectionType: "INTERNET", TimeoutMillis: 30000}
		if !strings.HasPrefix(target, "arn:aws:lambda:") {
			integ.Type, integ.PayloadFormatVersion, integ.Method = "HTTP_PROXY", "1.0", "ANY"
		}
		a.Integrations[integ.ID] = integ
		rk, _ := jstr(b, "routeKey")
		if rk == "" {
			rk = "$default"
		}
		rt := &routeRec{ID: core.RandomID(7), RouteKey: rk, Target: "integrations/" + integ.ID, AuthorizationType: "NONE"}
		a.Routes[rt.ID] = rt
		now := time.Now().UTC()
		a.Stages["$default"] = &stageRec{Name: "$default", AutoDeploy: true, DeploymentID: core.RandomID(6), Tags: map[string]string{}, Created: now, Updated: now}
	}
	port, err := r.stages.listen(a.ID, 0)
	if err != nil {
		apigwError(q, http.StatusInternalServerError, "InternalFailure", "localcloud: cannot open a port for the API: "+err.Error())
		return
	}
	r.st.Ports[a.ID] = port
	r.st.APIs[a.ID] = a
	r.commitLocked()
	q.RestJSON(http.StatusCreated, r.apiJSON(a))
}

// pageItems pages by a numeric nextToken.
func pageItems[T any](q *core.Request, items []T, render func(T) map[string]any) {
	qs := q.R.URL.Query()
	start, end, next := core.PageIndex(len(items), qs.Get("nextToken"), qs.Get("maxResults"), 100)
	out := []map[string]any{}
	for _, it := range items[start:end] {
		out = append(out, render(it))
	}
	resp := map[string]any{"items": out}
	if next != "" {
		resp["nextToken"] = next
	}
	q.RestJSON(http.StatusOK, resp)
}

func integrationJSON(i *integrationRec) map[string]any {
	out := map[string]any{
		"integrationId":        i.ID,
		"integrationType":      i.Type,
		"integrationUri":       i.URI,
		"payloadFormatVersion": i.PayloadFormatVersion,
		"connectionType":       i.ConnectionType,
		"timeoutInMillis":      i.TimeoutMillis,
		"apiGatewayManaged":    false,
	}
	if i.Method != "" {
		out["integrationMethod"] = i.Method
	}
	if i.Description != "" {
		out["description"] = i.Description
	}
	return out
}

var integrationTypes = map[string]bool{"AWS": true, "AWS_PROXY": true, "HTTP": true, "HTTP_PROXY": true, "MOCK": true}

func applyIntegration(q *core.Request, i *integrationRec, b map[string]json.RawMessage) bool {
	if v, ok := jstr(b, "integrationType"); ok {
		if !integrationTypes[v] {
			badRequest(q, "Invalid integration type specified: "+v)
			return false
		}
		i.Type = v
	}
	if v, ok := jstr(b, "integrationUri"); ok {
		i.URI = v
	}
	if v, ok := jstr(b, "integrationMethod"); ok {
		i.Method = v
	}
	if v, ok := jstr(b, "payloadFormatVersion"); ok {
		if v != "1.0" && v != "2.0" {
			badRequest(q, "Invalid payload format version specified: "+v)
			return false
		}
		i.PayloadFormatVersion = v
	}
	if v, ok := jstr(b, "connectionType"); ok {
		i.ConnectionType = v
	}
	if v, ok := jstr(b, "description"); ok {
		i.Description = v
	}
	if v, ok := jint(b, "timeoutInMillis"); ok {
		if v < 50 || v > 30000 {
			badRequest(q, "Timeout must be between 50 milliseconds and 30 seconds.")
			return false
		}
		i.TimeoutMillis = v
	}
	if i.Type == "" {
		badRequest(q, "IntegrationType is required")
		return false
	}
	if i.Type == "AWS_PROXY" {
		if i.URI == "" {
			badRequest(q, "Integration URI is required for AWS_PROXY integrations")
			return false
		}
		if _, _, ok := lambdaFromIntegrationURI(i.URI); !ok {
			badRequest(q, "Invalid Lambda function ARN specified: "+i.URI)
			return false
		}
		if i.PayloadFormatVersion == "" {
			badRequest(q, "PayloadFormatVersion is required for AWS_PROXY integrations on HTTP APIs")
			return false
		}
		if i.Method == "" {
			i.Method = "POST"
		}
	}
	return true
}

// lambdaFromIntegrationURI accepts a Lambda ARN (function, version or alias qualified) or
// the arn:aws:apigateway:REGION:lambda:path/2015-03-31/functions/ARN/invocations form.
func lambdaFromIntegrationURI(uri string) (name, qual string, ok bool) {
	if strings.HasPrefix(uri, "arn:aws:apigateway:") {
		i := strings.Index(uri, "/functions/")
		if i < 0 {
			return "", "", false
		}
		uri = strings.TrimSuffix(uri[i+len("/functions/"):], "/invocations")
	}
	if !strings.HasPrefix(uri, "arn:aws:lambda:") {
		return "", "", false
	}
	return arns.ParseFunctionRef(uri)
}

func routeJSON(r *routeRec) map[string]any {
	out := map[string]any{
		"routeId":           r.ID,
		"routeKey":          r.RouteKey,
		"authorizationType": r.AuthorizationType,
		"apiKeyRequired":    r.APIKeyRequired,
		"apiGatewayManaged": false,
	}
	if r.Target != "" {
		out["target"] = r.Target
	}
	if r.OperationName != "" {
		out["operationName"] = r.OperationName
	}
	return out
}

var routeKeyRE = regexp.MustCompile(`^(ANY|GET|POST|PUT|DELETE|PATCH|HEAD|OPTIONS) (/[^ ]*)$`)

func applyRoute(q *core.Request, a *apiRec, r *routeRec, b map[string]json.RawMessage) bool {
	if v, ok := jstr(b, "routeKey"); ok {
		if v != "$default" && !routeKeyRE.MatchString(v) {
			badRequest(q, "Invalid route key specified: "+v+" (want \"$default\" or \"METHOD /path\")")
			return false
		}
		for _, o := range a.Routes {
			if o.ID != r.ID && o.RouteKey == v {
				apigwError(q, http.StatusConflict, "ConflictException", "Route with key "+v+" already exists for this API")
				return false
			}
		}
		r.RouteKey = v
	}
	if v, ok := jstr(b, "target"); ok {
		if v != "" {
			id, found := strings.CutPrefix(v, "integrations/")
			if !found || a.Integrations[id] == nil {
				badRequest(q, "Invalid target specified: "+v)
				return false
			}
		}
		r.Target = v
	}
	if v, ok := jstr(b, "authorizationType"); ok {
		if v != "NONE" && v != "AWS_IAM" && v != "JWT" && v != "CUSTOM" {
			badRequest(q, "Invalid authorization type specified: "+v)
			return false
		}
		r.AuthorizationType = v
	}
	if v, ok := jstr(b, "operationName"); ok {
		r.OperationName = v
	}
	if v, ok := jbool(b, "apiKeyRequired"); ok {
		r.APIKeyRequired = v
	}
	if r.RouteKey == "" {
		badRequest(q, "RouteKey is required")
		return false
	}
	return true
}

func stageJSON(s *stageRec) map[string]any {
	out := map[string]any{
		"stageName":            s.Name,
		"autoDeploy":           s.AutoDeploy,
		"createdDate":          s.Created.UTC().Format(time.RFC3339),
		"lastUpdatedDate":      s.Updated.UTC().Format(time.RFC3339),
		"defaultRouteSettings": map[string]any{"detailedMetricsEnabled": false},
		"routeSettings":        map[string]any{},
		"stageVariables":       s.StageVariables,
		"tags":                 s.Tags,
		"apiGatewayManaged":    false,
	}
	if s.StageVariables == nil {
		out["stageVariables"] = map[string]string{}
	}
	if s.Description != "" {
		out["description"] = s.Description
	}
	if s.DeploymentID != "" {
		out["deploymentId"] = s.DeploymentID
	}
	return out
}

var stageNameRE = regexp.MustCompile(`^(\$default|[a-zA-Z0-9_\-]{1,128})$`)

// field helpers over a raw JSON body.
func jstr(b map[string]json.RawMessage, k string) (string, bool) {
	raw, ok := b[k]
	if !ok {
		return "", false
	}
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

func jbool(b map[string]json.RawMessage, k string) (bool, bool) {
	raw, ok := b[k]
	if !ok {
		return false, false
	}
	var v bool
	return v, json.Unmarshal(raw, &v) == nil
}

func jint(b map[string]json.RawMessage, k string) (int, bool) {
	raw, ok := b[k]
	if !ok {
		return 0, false
	}
	var v int
	return v, json.Unmarshal(raw, &v) == nil
}

func jmap(b map[string]json.RawMessage, k string) map[string]string {
	m := map[string]string{}
	if raw, ok := b[k]; ok {
		_ = json.Unmarshal(raw, &m)
	}
	return m
}
