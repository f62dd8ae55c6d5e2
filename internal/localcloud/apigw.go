package localcloud

import (
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
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

func (q *request) apigwError(status int, code, msg string) {
	q.w.Header().Set("X-Amzn-Errortype", code)
	q.writeJSON(status, "application/json", map[string]string{"message": msg})
}

func (q *request) apigwJSON(status int, v any) { q.writeJSON(status, "application/json", v) }

func (q *request) badRequest(msg string) {
	q.apigwError(http.StatusBadRequest, "BadRequestException", msg)
}

// apigwRoute maps method+path to an operation and its path arguments.
func apigwRoute(method, path string) (string, []string) {
	if strings.HasPrefix(path, "/v2/tags/") {
		arn := strings.TrimPrefix(path, "/v2/tags/")
		switch method {
		case http.MethodPost:
			return "TagResource", []string{arn}
		case http.MethodGet:
			return "GetTags", []string{arn}
		case http.MethodDelete:
			return "UntagResource", []string{arn}
		}
		return "", nil
	}
	if !strings.HasPrefix(path, "/v2/apis") {
		return "", nil
	}
	parts := strings.Split(strings.Trim(strings.TrimPrefix(path, "/v2/apis"), "/"), "/")
	if len(parts) == 1 && parts[0] == "" {
		parts = nil
	}
	kinds := map[string]string{"integrations": "Integration", "routes": "Route", "stages": "Stage"}
	switch len(parts) {
	case 0:
		switch method {
		case http.MethodPost:
			return "CreateApi", nil
		case http.MethodGet:
			return "GetApis", nil
		}
	case 1:
		switch method {
		case http.MethodGet:
			return "GetApi", parts
		case http.MethodPatch:
			return "UpdateApi", parts
		case http.MethodDelete:
			return "DeleteApi", parts
		}
	case 2:
		k := kinds[parts[1]]
		if k == "" {
			return "", nil
		}
		switch method {
		case http.MethodPost:
			return "Create" + k, parts[:1]
		case http.MethodGet:
			return "Get" + k + "s", parts[:1]
		}
	case 3:
		k := kinds[parts[1]]
		if k == "" {
			return "", nil
		}
		args := []string{parts[0], parts[2]}
		switch method {
		case http.MethodGet:
			return "Get" + k, args
		case http.MethodPatch:
			return "Update" + k, args
		case http.MethodDelete:
			return "Delete" + k, args
		}
	}
	return "", nil
}

func (c *Cloud) serveAPIGateway(q *request) {
	op, args := apigwRoute(q.r.Method, q.r.URL.Path)
	if op == "" {
		q.op = "?"
		q.apigwError(http.StatusNotFound, "NotFoundException", "Unknown operation "+q.r.Method+" "+q.r.URL.Path)
		return
	}
	if !q.begin(op) {
		return
	}
	var body map[string]json.RawMessage
	if q.r.Method == http.MethodPost || q.r.Method == http.MethodPatch {
		b, err := readLimited(q.r.Body, 10<<20)
		if err != nil {
			q.badRequest("Could not read request body")
			return
		}
		if len(strings.TrimSpace(string(b))) > 0 {
			if err := json.Unmarshal(b, &body); err != nil {
				q.badRequest("Invalid request body: " + err.Error())
				return
			}
		}
	}
	if body == nil {
		body = map[string]json.RawMessage{}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch op {
	case "CreateApi":
		c.apiCreate(q, body)
		return
	case "GetApis":
		c.apiList(q)
		return
	case "TagResource", "GetTags", "UntagResource":
		c.apigwTags(q, op, args[0], body)
		return
	}
	a := c.st.APIs[args[0]]
	if a == nil {
		q.apigwError(http.StatusNotFound, "NotFoundException", "Invalid API identifier specified "+AccountID+":"+args[0])
		return
	}
	switch {
	case strings.HasSuffix(op, "Api"):
		c.apiOp(q, op, a, body)
	case strings.Contains(op, "Integration"):
		c.integrationOp(q, op, a, args, body)
	case strings.Contains(op, "Route"):
		c.routeOp(q, op, a, args, body)
	case strings.Contains(op, "Stage"):
		c.stageOp(q, op, a, args, body)
	}
}

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

func (c *Cloud) apiJSON(a *apiRec) map[string]any {
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
	if p := c.st.Ports[a.ID]; p != 0 {
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

func (c *Cloud) newAPIID() string {
	for {
		id := randomID(10)
		if c.st.APIs[id] == nil {
			return id
		}
	}
}

func (c *Cloud) apiCreate(q *request, b map[string]json.RawMessage) {
	name, _ := jstr(b, "name")
	proto, _ := jstr(b, "protocolType")
	if name == "" || len(name) > 128 {
		q.badRequest("Invalid API name specified")
		return
	}
	if proto != "HTTP" && proto != "WEBSOCKET" {
		q.badRequest("Invalid protocol type specified; must be HTTP or WEBSOCKET")
		return
	}
	rse, ok := jstr(b, "routeSelectionExpression")
	if !ok {
		rse = "$request.method $request.path"
	}
	if proto == "WEBSOCKET" {
		q.badRequest("localcloud supports HTTP APIs only")
		return
	}
	a := &apiRec{ID: c.newAPIID(), Name: name, Region: q.region, ProtocolType: proto, RouteSelectionExpression: rse,
		Created: time.Now().UTC(), Tags: jmap(b, "tags")}
	a.Description, _ = jstr(b, "description")
	a.Version, _ = jstr(b, "version")
	a.DisableExecuteAPI, _ = jbool(b, "disableExecuteApiEndpoint")
	a.fixup()
	// Quick create: target makes an integration, a route and the $default stage.
	if target, ok := jstr(b, "target"); ok && target != "" {
		integ := &integrationRec{ID: randomID(7), Type: "AWS_PROXY", URI: target, Method: "POST", PayloadFormatVersion: "2.0", ConnectionType: "INTERNET", TimeoutMillis: 30000}
		if !strings.HasPrefix(target, "arn:aws:lambda:") {
			integ.Type, integ.PayloadFormatVersion, integ.Method = "HTTP_PROXY", "1.0", "ANY"
		}
		a.Integrations[integ.ID] = integ
		rk, _ := jstr(b, "routeKey")
		if rk == "" {
			rk = "$default"
		}
		rt := &routeRec{ID: randomID(7), RouteKey: rk, Target: "integrations/" + integ.ID, AuthorizationType: "NONE"}
		a.Routes[rt.ID] = rt
		now := time.Now().UTC()
		a.Stages["$default"] = &stageRec{Name: "$default", AutoDeploy: true, DeploymentID: randomID(6), Tags: map[string]string{}, Created: now, Updated: now}
	}
	port, err := c.stages.listen(a.ID, 0)
	if err != nil {
		q.apigwError(http.StatusInternalServerError, "InternalFailure", "localcloud: cannot open a port for the API: "+err.Error())
		return
	}
	c.st.Ports[a.ID] = port
	c.st.APIs[a.ID] = a
	c.commitLocked()
	q.apigwJSON(http.StatusCreated, c.apiJSON(a))
}

// pageItems pages by a numeric nextToken.
func pageItems[T any](q *request, items []T, render func(T) map[string]any) {
	qs := q.r.URL.Query()
	start, end, next := pageIndex(len(items), qs.Get("nextToken"), qs.Get("maxResults"), 100)
	out := []map[string]any{}
	for _, it := range items[start:end] {
		out = append(out, render(it))
	}
	resp := map[string]any{"items": out}
	if next != "" {
		resp["nextToken"] = next
	}
	q.apigwJSON(http.StatusOK, resp)
}

func (c *Cloud) apiList(q *request) {
	var list []*apiRec
	for _, id := range sortedKeys(c.st.APIs) {
		list = append(list, c.st.APIs[id])
	}
	pageItems(q, list, c.apiJSON)
}

func (c *Cloud) apiOp(q *request, op string, a *apiRec, b map[string]json.RawMessage) {
	switch op {
	case "GetApi":
		q.apigwJSON(http.StatusOK, c.apiJSON(a))
	case "UpdateApi":
		if v, ok := jstr(b, "name"); ok {
			if v == "" {
				q.badRequest("Invalid API name specified")
				return
			}
			a.Name = v
		}
		if v, ok := jstr(b, "description"); ok {
			a.Description = v
		}
		if v, ok := jstr(b, "version"); ok {
			a.Version = v
		}
		if v, ok := jstr(b, "routeSelectionExpression"); ok {
			a.RouteSelectionExpression = v
		}
		if v, ok := jbool(b, "disableExecuteApiEndpoint"); ok {
			a.DisableExecuteAPI = v
		}
		c.commitLocked()
		q.apigwJSON(http.StatusOK, c.apiJSON(a))
	case "DeleteApi":
		delete(c.st.APIs, a.ID)
		delete(c.st.Ports, a.ID)
		c.stages.stop(a.ID)
		c.commitLocked()
		q.noContent(http.StatusNoContent)
	}
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

func (c *Cloud) applyIntegration(q *request, i *integrationRec, b map[string]json.RawMessage) bool {
	if v, ok := jstr(b, "integrationType"); ok {
		if !integrationTypes[v] {
			q.badRequest("Invalid integration type specified: " + v)
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
			q.badRequest("Invalid payload format version specified: " + v)
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
			q.badRequest("Timeout must be between 50 milliseconds and 30 seconds.")
			return false
		}
		i.TimeoutMillis = v
	}
	if i.Type == "" {
		q.badRequest("IntegrationType is required")
		return false
	}
	if i.Type == "AWS_PROXY" {
		if i.URI == "" {
			q.badRequest("Integration URI is required for AWS_PROXY integrations")
			return false
		}
		if _, _, ok := lambdaFromIntegrationURI(i.URI); !ok {
			q.badRequest("Invalid Lambda function ARN specified: " + i.URI)
			return false
		}
		if i.PayloadFormatVersion == "" {
			q.badRequest("PayloadFormatVersion is required for AWS_PROXY integrations on HTTP APIs")
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
	return parseFunctionRef(uri)
}

func (c *Cloud) integrationOp(q *request, op string, a *apiRec, args []string, b map[string]json.RawMessage) {
	var i *integrationRec
	if len(args) > 1 {
		i = a.Integrations[args[1]]
		if i == nil {
			q.apigwError(http.StatusNotFound, "NotFoundException", "Invalid Integration identifier specified")
			return
		}
	}
	switch op {
	case "CreateIntegration":
		ni := &integrationRec{ID: randomID(7), ConnectionType: "INTERNET", TimeoutMillis: 30000}
		if !c.applyIntegration(q, ni, b) {
			return
		}
		a.Integrations[ni.ID] = ni
		c.commitLocked()
		q.apigwJSON(http.StatusCreated, integrationJSON(ni))
	case "GetIntegration":
		q.apigwJSON(http.StatusOK, integrationJSON(i))
	case "GetIntegrations":
		var list []*integrationRec
		for _, k := range sortedKeys(a.Integrations) {
			list = append(list, a.Integrations[k])
		}
		pageItems(q, list, integrationJSON)
	case "UpdateIntegration":
		cp := *i
		if !c.applyIntegration(q, &cp, b) {
			return
		}
		*i = cp
		c.commitLocked()
		q.apigwJSON(http.StatusOK, integrationJSON(i))
	case "DeleteIntegration":
		for _, r := range a.Routes {
			if r.Target == "integrations/"+i.ID {
				q.apigwError(http.StatusConflict, "ConflictException", "Cannot delete Integration "+i.ID+": it is referenced by route "+r.RouteKey)
				return
			}
		}
		delete(a.Integrations, i.ID)
		c.commitLocked()
		q.noContent(http.StatusNoContent)
	}
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

func (c *Cloud) applyRoute(q *request, a *apiRec, r *routeRec, b map[string]json.RawMessage) bool {
	if v, ok := jstr(b, "routeKey"); ok {
		if v != "$default" && !routeKeyRE.MatchString(v) {
			q.badRequest("Invalid route key specified: " + v + " (want \"$default\" or \"METHOD /path\")")
			return false
		}
		for _, o := range a.Routes {
			if o.ID != r.ID && o.RouteKey == v {
				q.apigwError(http.StatusConflict, "ConflictException", "Route with key "+v+" already exists for this API")
				return false
			}
		}
		r.RouteKey = v
	}
	if v, ok := jstr(b, "target"); ok {
		if v != "" {
			id, found := strings.CutPrefix(v, "integrations/")
			if !found || a.Integrations[id] == nil {
				q.badRequest("Invalid target specified: " + v)
				return false
			}
		}
		r.Target = v
	}
	if v, ok := jstr(b, "authorizationType"); ok {
		if v != "NONE" && v != "AWS_IAM" && v != "JWT" && v != "CUSTOM" {
			q.badRequest("Invalid authorization type specified: " + v)
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
		q.badRequest("RouteKey is required")
		return false
	}
	return true
}

func (c *Cloud) routeOp(q *request, op string, a *apiRec, args []string, b map[string]json.RawMessage) {
	var r *routeRec
	if len(args) > 1 {
		r = a.Routes[args[1]]
		if r == nil {
			q.apigwError(http.StatusNotFound, "NotFoundException", "Invalid Route identifier specified")
			return
		}
	}
	switch op {
	case "CreateRoute":
		nr := &routeRec{ID: randomID(7), AuthorizationType: "NONE"}
		if !c.applyRoute(q, a, nr, b) {
			return
		}
		a.Routes[nr.ID] = nr
		c.commitLocked()
		q.apigwJSON(http.StatusCreated, routeJSON(nr))
	case "GetRoute":
		q.apigwJSON(http.StatusOK, routeJSON(r))
	case "GetRoutes":
		var list []*routeRec
		for _, k := range sortedKeys(a.Routes) {
			list = append(list, a.Routes[k])
		}
		pageItems(q, list, routeJSON)
	case "UpdateRoute":
		cp := *r
		if !c.applyRoute(q, a, &cp, b) {
			return
		}
		*r = cp
		c.commitLocked()
		q.apigwJSON(http.StatusOK, routeJSON(r))
	case "DeleteRoute":
		delete(a.Routes, r.ID)
		c.commitLocked()
		q.noContent(http.StatusNoContent)
	}
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

func (c *Cloud) stageOp(q *request, op string, a *apiRec, args []string, b map[string]json.RawMessage) {
	var s *stageRec
	if len(args) > 1 {
		s = a.Stages[args[1]]
		if s == nil {
			q.apigwError(http.StatusNotFound, "NotFoundException", "Invalid stage identifier specified")
			return
		}
	}
	apply := func(s *stageRec) {
		if v, ok := jstr(b, "description"); ok {
			s.Description = v
		}
		if v, ok := jbool(b, "autoDeploy"); ok {
			s.AutoDeploy = v
			if v && s.DeploymentID == "" {
				s.DeploymentID = randomID(6)
			}
		}
		if _, ok := b["stageVariables"]; ok {
			s.StageVariables = jmap(b, "stageVariables")
		}
		if v, ok := jstr(b, "deploymentId"); ok {
			s.DeploymentID = v
		}
		s.Updated = time.Now().UTC()
	}
	switch op {
	case "CreateStage":
		name, _ := jstr(b, "stageName")
		if !stageNameRE.MatchString(name) {
			q.badRequest("Invalid stage name specified: " + name)
			return
		}
		if a.Stages[name] != nil {
			q.apigwError(http.StatusConflict, "ConflictException", "Stage already exists")
			return
		}
		now := time.Now().UTC()
		ns := &stageRec{Name: name, Tags: jmap(b, "tags"), Created: now}
		apply(ns)
		a.Stages[name] = ns
		c.commitLocked()
		q.apigwJSON(http.StatusCreated, stageJSON(ns))
	case "GetStage":
		q.apigwJSON(http.StatusOK, stageJSON(s))
	case "GetStages":
		var list []*stageRec
		for _, k := range sortedKeys(a.Stages) {
			list = append(list, a.Stages[k])
		}
		pageItems(q, list, stageJSON)
	case "UpdateStage":
		apply(s)
		c.commitLocked()
		q.apigwJSON(http.StatusOK, stageJSON(s))
	case "DeleteStage":
		delete(a.Stages, s.Name)
		c.commitLocked()
		q.noContent(http.StatusNoContent)
	}
}

func (c *Cloud) apigwTags(q *request, op, arn string, b map[string]json.RawMessage) {
	var tags map[string]string
	rest, ok := strings.CutPrefix(arn, "arn:aws:apigateway:")
	if ok {
		_, path, _ := strings.Cut(rest, "::")
		parts := strings.Split(strings.Trim(path, "/"), "/")
		if len(parts) >= 2 && parts[0] == "apis" {
			if a := c.st.APIs[parts[1]]; a != nil {
				switch {
				case len(parts) == 2:
					tags = a.Tags
				case len(parts) == 4 && parts[2] == "stages" && a.Stages[parts[3]] != nil:
					tags = a.Stages[parts[3]].Tags
				}
			}
		}
	}
	if tags == nil {
		q.apigwError(http.StatusNotFound, "NotFoundException", fmt.Sprintf("Invalid resource ARN specified: %s", arn))
		return
	}
	switch op {
	case "GetTags":
		q.apigwJSON(http.StatusOK, map[string]any{"tags": tags})
	case "TagResource":
		for k, v := range jmap(b, "tags") {
			tags[k] = v
		}
		c.commitLocked()
		q.apigwJSON(http.StatusCreated, map[string]any{})
	case "UntagResource":
		for _, k := range q.r.URL.Query()["tagKeys"] {
			delete(tags, k)
		}
		c.commitLocked()
		q.noContent(http.StatusNoContent)
	}
}
