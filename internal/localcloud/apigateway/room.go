// Package apigateway is the local cloud's API Gateway v2 (restJson): HTTP APIs, their
// integrations, routes, stages and tags; and the stages' data plane, each API's $default
// stage served as real HTTP on its own loopback port (stage.go).
package apigateway

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

// stateFile is the room's document; its fields are named as in the old state.json.
const stateFile = "apigateway.json"

type doc struct {
	APIs  map[string]*apiRec `json:"apis"`
	Ports map[string]int     `json:"ports"` // API id -> stage port
}

// Room is API Gateway v2.
type Room struct {
	cloud     *core.Cloud
	functions core.Functions // what the stages invoke
	mu        sync.Mutex
	st        doc
	stages    *stageServers
}

// New returns the API Gateway room.
func New() *Room { return &Room{} }

func (*Room) Name() string { return "apigateway" }

func (r *Room) Open(c *core.Cloud) error {
	r.cloud = c
	r.functions = core.Peer[core.Functions](c)
	r.st = doc{}
	if err := c.LoadDoc(stateFile, &r.st, true); err != nil {
		return err
	}
	if r.st.APIs == nil {
		r.st.APIs = map[string]*apiRec{}
	}
	if r.st.Ports == nil {
		r.st.Ports = map[string]int{}
	}
	for _, a := range r.st.APIs {
		a.fixup()
	}
	r.stages = newStageServers(r)
	return nil
}

// Start brings up the stage listeners of the persisted APIs.
func (r *Room) Start() {
	r.mu.Lock()
	ids := core.SortedKeys(r.st.APIs)
	r.mu.Unlock()
	for _, id := range ids {
		if err := r.stages.ensure(id); err != nil {
			r.cloud.Logf("api %s: %v", id, err)
		}
	}
}

func (r *Room) Close() {
	if r.stages != nil {
		r.stages.closeAll()
	}
}

func (r *Room) Save() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cloud.SaveDoc(stateFile, &r.st)
}

// commitLocked saves after a change. r.mu must be held.
func (r *Room) commitLocked() {
	r.cloud.CommitDoc(stateFile, &r.st)
}

func (r *Room) Resources(match func(map[string]string) bool) []core.Resource {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []core.Resource
	for _, a := range r.st.APIs {
		if match(a.Tags) {
			out = append(out, core.Resource{Service: "apigateway", Type: "api", Name: a.Name, ARN: a.arn(), Tags: core.CopyMap(a.Tags)})
		}
		for _, s := range a.Stages {
			if match(s.Tags) {
				out = append(out, core.Resource{Service: "apigateway", Type: "stage", Name: a.ID + "/" + s.Name, ARN: a.stageARN(s.Name), Tags: core.CopyMap(s.Tags)})
			}
		}
	}
	return out
}

// ServeHost serves <apiId>.execute-api.localhost on the main address.
func (r *Room) ServeHost(w http.ResponseWriter, req *http.Request) bool {
	apiID, ok := executeAPIHost(req.Host)
	if ok {
		r.stages.serveAPI(apiID, w, req)
	}
	return ok
}

func (*Room) Guess(req *http.Request) bool { return strings.HasPrefix(req.URL.Path, "/v2/") }

// Route names the operation; q.Args is the path's ids (API, then integration, route or stage).
func (*Room) Route(q *core.Request) (string, bool) {
	op, args := apigwRoute(q.R.Method, q.R.URL.Path)
	if op == "" {
		apigwError(q, http.StatusNotFound, "NotFoundException", "Unknown operation "+q.R.Method+" "+q.R.URL.Path)
		return "", false
	}
	q.Args = args
	return op, true
}

func (*Room) Unknown(q *core.Request) {
	apigwError(q, http.StatusNotFound, "NotFoundException", "Unknown operation "+q.Op)
}

func (*Room) Throttle(q *core.Request) {
	q.W.Header().Set("Retry-After", "1")
	apigwError(q, http.StatusTooManyRequests, "TooManyRequestsException", "Too Many Requests")
}

func (*Room) Fail(q *core.Request) {
	apigwError(q, http.StatusInternalServerError, "InternalFailure", "localcloud: injected fault")
}

func apigwError(q *core.Request, status int, code, msg string) {
	q.RestJSONError(status, code, map[string]string{"message": msg})
}

func badRequest(q *core.Request, msg string) {
	apigwError(q, http.StatusBadRequest, "BadRequestException", msg)
}

// executeAPIHost recognises "<apiId>.execute-api.localhost[:port]".
func executeAPIHost(host string) (string, bool) {
	h := host
	if hh, _, err := net.SplitHostPort(host); err == nil {
		h = hh
	}
	id, rest, ok := strings.Cut(strings.ToLower(h), ".")
	if !ok || id == "" {
		return "", false
	}
	if rest == "execute-api.localhost" || strings.HasPrefix(rest, "execute-api.") && strings.HasSuffix(rest, ".localhost") {
		return id, true
	}
	return "", false
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

// Ops is the API Gateway v2 operation table.
func (r *Room) Ops() []core.Op {
	return []core.Op{
		core.Write("CreateApi", r.withBody(r.apiCreate)),
		core.Read("GetApis", r.withBody(r.apiList)),
		core.Read("GetApi", r.onAPI(r.getAPI)),
		core.Write("UpdateApi", r.onAPI(r.updateAPI)),
		core.Write("DeleteApi", r.onAPI(r.deleteAPI)),
		core.Write("CreateIntegration", r.onAPI(r.createIntegration)),
		core.Read("GetIntegrations", r.onAPI(getIntegrations)),
		core.Read("GetIntegration", r.onIntegration(getIntegration)),
		core.Write("UpdateIntegration", r.onIntegration(r.updateIntegration)),
		core.Write("DeleteIntegration", r.onIntegration(r.deleteIntegration)),
		core.Write("CreateRoute", r.onAPI(r.createRoute)),
		core.Read("GetRoutes", r.onAPI(getRoutes)),
		core.Read("GetRoute", r.onRoute(getRoute)),
		core.Write("UpdateRoute", r.onRoute(r.updateRoute)),
		core.Write("DeleteRoute", r.onRoute(r.deleteRoute)),
		core.Write("CreateStage", r.onAPI(r.createStage)),
		core.Read("GetStages", r.onAPI(getStages)),
		core.Read("GetStage", r.onStage(getStage)),
		core.Write("UpdateStage", r.onStage(r.updateStage)),
		core.Write("DeleteStage", r.onStage(r.deleteStage)),
		core.Write("TagResource", r.onTags(r.tagResource)),
		core.Read("GetTags", r.onTags(getTags)),
		core.Write("UntagResource", r.onTags(r.untagResource)),
	}
}

type body = map[string]json.RawMessage

// withBody reads the JSON body (of a POST or PATCH) and runs h under the room's lock.
func (r *Room) withBody(h func(q *core.Request, b body)) func(*core.Request) {
	return func(q *core.Request) {
		var b body
		if q.R.Method == http.MethodPost || q.R.Method == http.MethodPatch {
			raw, err := core.ReadLimited(q.R.Body, 10<<20)
			if err != nil {
				badRequest(q, "Could not read request body")
				return
			}
			if len(strings.TrimSpace(string(raw))) > 0 {
				if err := json.Unmarshal(raw, &b); err != nil {
					badRequest(q, "Invalid request body: "+err.Error())
					return
				}
			}
		}
		if b == nil {
			b = body{}
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		h(q, b)
	}
}

// onAPI is withBody on the API the path names (NotFound when it is not there).
func (r *Room) onAPI(h func(q *core.Request, a *apiRec, b body)) func(*core.Request) {
	return r.withBody(func(q *core.Request, b body) {
		a := r.st.APIs[q.Args[0]]
		if a == nil {
			apigwError(q, http.StatusNotFound, "NotFoundException", "Invalid API identifier specified "+core.AccountID+":"+q.Args[0])
			return
		}
		h(q, a, b)
	})
}

func (r *Room) onIntegration(h func(q *core.Request, a *apiRec, i *integrationRec, b body)) func(*core.Request) {
	return r.onAPI(func(q *core.Request, a *apiRec, b body) {
		i := a.Integrations[q.Args[1]]
		if i == nil {
			apigwError(q, http.StatusNotFound, "NotFoundException", "Invalid Integration identifier specified")
			return
		}
		h(q, a, i, b)
	})
}

func (r *Room) onRoute(h func(q *core.Request, a *apiRec, rt *routeRec, b body)) func(*core.Request) {
	return r.onAPI(func(q *core.Request, a *apiRec, b body) {
		rt := a.Routes[q.Args[1]]
		if rt == nil {
			apigwError(q, http.StatusNotFound, "NotFoundException", "Invalid Route identifier specified")
			return
		}
		h(q, a, rt, b)
	})
}

func (r *Room) onStage(h func(q *core.Request, a *apiRec, s *stageRec, b body)) func(*core.Request) {
	return r.onAPI(func(q *core.Request, a *apiRec, b body) {
		s := a.Stages[q.Args[1]]
		if s == nil {
			apigwError(q, http.StatusNotFound, "NotFoundException", "Invalid stage identifier specified")
			return
		}
		h(q, a, s, b)
	})
}

// onTags is withBody on the tags of the API or stage the ARN in the path names.
func (r *Room) onTags(h func(q *core.Request, tags map[string]string, b body)) func(*core.Request) {
	return r.withBody(func(q *core.Request, b body) {
		arn := q.Args[0]
		var tags map[string]string
		if rest, ok := strings.CutPrefix(arn, "arn:aws:apigateway:"); ok {
			_, path, _ := strings.Cut(rest, "::")
			parts := strings.Split(strings.Trim(path, "/"), "/")
			if len(parts) >= 2 && parts[0] == "apis" {
				if a := r.st.APIs[parts[1]]; a != nil {
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
			apigwError(q, http.StatusNotFound, "NotFoundException", fmt.Sprintf("Invalid resource ARN specified: %s", arn))
			return
		}
		h(q, tags, b)
	})
}

func (r *Room) apiList(q *core.Request, _ body) {
	var list []*apiRec
	for _, id := range core.SortedKeys(r.st.APIs) {
		list = append(list, r.st.APIs[id])
	}
	pageItems(q, list, r.apiJSON)
}

func (r *Room) getAPI(q *core.Request, a *apiRec, _ body) { q.RestJSON(http.StatusOK, r.apiJSON(a)) }

func (r *Room) updateAPI(q *core.Request, a *apiRec, b body) {
	if v, ok := jstr(b, "name"); ok {
		if v == "" {
			badRequest(q, "Invalid API name specified")
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
	r.commitLocked()
	q.RestJSON(http.StatusOK, r.apiJSON(a))
}

func (r *Room) deleteAPI(q *core.Request, a *apiRec, _ body) {
	delete(r.st.APIs, a.ID)
	delete(r.st.Ports, a.ID)
	r.stages.stop(a.ID)
	r.commitLocked()
	q.NoContent(http.StatusNoContent)
}

func (r *Room) createIntegration(q *core.Request, a *apiRec, b body) {
	ni := &integrationRec{ID: core.RandomID(7), ConnectionType: "INTERNET", TimeoutMillis: 30000}
	if !applyIntegration(q, ni, b) {
		return
	}
	a.Integrations[ni.ID] = ni
	r.commitLocked()
	q.RestJSON(http.StatusCreated, integrationJSON(ni))
}

func getIntegrations(q *core.Request, a *apiRec, _ body) {
	var list []*integrationRec
	for _, k := range core.SortedKeys(a.Integrations) {
		list = append(list, a.Integrations[k])
	}
	pageItems(q, list, integrationJSON)
}

func getIntegration(q *core.Request, _ *apiRec, i *integrationRec, _ body) {
	q.RestJSON(http.StatusOK, integrationJSON(i))
}

func (r *Room) updateIntegration(q *core.Request, _ *apiRec, i *integrationRec, b body) {
	cp := *i
	if !applyIntegration(q, &cp, b) {
		return
	}
	*i = cp
	r.commitLocked()
	q.RestJSON(http.StatusOK, integrationJSON(i))
}

func (r *Room) deleteIntegration(q *core.Request, a *apiRec, i *integrationRec, _ body) {
	for _, rt := range a.Routes {
		if rt.Target == "integrations/"+i.ID {
			apigwError(q, http.StatusConflict, "ConflictException", "Cannot delete Integration "+i.ID+": it is referenced by route "+rt.RouteKey)
			return
		}
	}
	delete(a.Integrations, i.ID)
	r.commitLocked()
	q.NoContent(http.StatusNoContent)
}

func (r *Room) createRoute(q *core.Request, a *apiRec, b body) {
	nr := &routeRec{ID: core.RandomID(7), AuthorizationType: "NONE"}
	if !applyRoute(q, a, nr, b) {
		return
	}
	a.Routes[nr.ID] = nr
	r.commitLocked()
	q.RestJSON(http.StatusCreated, routeJSON(nr))
}

func getRoutes(q *core.Request, a *apiRec, _ body) {
	var list []*routeRec
	for _, k := range core.SortedKeys(a.Routes) {
		list = append(list, a.Routes[k])
	}
	pageItems(q, list, routeJSON)
}

func getRoute(q *core.Request, _ *apiRec, rt *routeRec, _ body) {
	q.RestJSON(http.StatusOK, routeJSON(rt))
}

func (r *Room) updateRoute(q *core.Request, a *apiRec, rt *routeRec, b body) {
	cp := *rt
	if !applyRoute(q, a, &cp, b) {
		return
	}
	*rt = cp
	r.commitLocked()
	q.RestJSON(http.StatusOK, routeJSON(rt))
}

func (r *Room) deleteRoute(q *core.Request, a *apiRec, rt *routeRec, _ body) {
	delete(a.Routes, rt.ID)
	r.commitLocked()
	q.NoContent(http.StatusNoContent)
}

// applyStage applies the settable fields of a stage.
func applyStage(s *stageRec, b body) {
	if v, ok := jstr(b, "description"); ok {
		s.Description = v
	}
	if v, ok := jbool(b, "autoDeploy"); ok {
		s.AutoDeploy = v
		if v && s.DeploymentID == "" {
			s.DeploymentID = core.RandomID(6)
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

func (r *Room) createStage(q *core.Request, a *apiRec, b body) {
	name, _ := jstr(b, "stageName")
	if !stageNameRE.MatchString(name) {
		badRequest(q, "Invalid stage name specified: "+name)
		return
	}
	if a.Stages[name] != nil {
		apigwError(q, http.StatusConflict, "ConflictException", "Stage already exists")
		return
	}
	now := time.Now().UTC()
	ns := &stageRec{Name: name, Tags: jmap(b, "tags"), Created: now}
	applyStage(ns, b)
	a.Stages[name] = ns
	r.commitLocked()
	q.RestJSON(http.StatusCreated, stageJSON(ns))
}

func getStages(q *core.Request, a *apiRec, _ body) {
	var list []*stageRec
	for _, k := range core.SortedKeys(a.Stages) {
		list = append(list, a.Stages[k])
	}
	pageItems(q, list, stageJSON)
}

func getStage(q *core.Request, _ *apiRec, s *stageRec, _ body) {
	q.RestJSON(http.StatusOK, stageJSON(s))
}

func (r *Room) updateStage(q *core.Request, _ *apiRec, s *stageRec, b body) {
	applyStage(s, b)
	r.commitLocked()
	q.RestJSON(http.StatusOK, stageJSON(s))
}

func (r *Room) deleteStage(q *core.Request, a *apiRec, s *stageRec, _ body) {
	delete(a.Stages, s.Name)
	r.commitLocked()
	q.NoContent(http.StatusNoContent)
}

func getTags(q *core.Request, tags map[string]string, _ body) {
	q.RestJSON(http.StatusOK, map[string]any{"tags": tags})
}

func (r *Room) tagResource(q *core.Request, tags map[string]string, b body) {
	for k, v := range jmap(b, "tags") {
		tags[k] = v
	}
	r.commitLocked()
	q.RestJSON(http.StatusCreated, map[string]any{})
}

func (r *Room) untagResource(q *core.Request, tags map[string]string, _ body) {
	for _, k := range q.R.URL.Query()["tagKeys"] {
		delete(tags, k)
	}
	r.commitLocked()
	q.NoContent(http.StatusNoContent)
}
