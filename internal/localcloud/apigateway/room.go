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
	core.RestJSONService // q.Args: the path's ids (API, then integration, route or stage)
	cloud                *core.Cloud
	functions            core.Functions // what the stages invoke
	mu                   sync.Mutex
	st                   doc
	stages               *stageServers
}

// New returns the API Gateway room.
func New() *Room {
	return &Room{RestJSONService: core.RestJSONService{Routes: apigwRoute, Error: apigwError,
		UnknownCode: "NotFoundException", FailCode: "InternalFailure", ThrottleMsg: "Too Many Requests"}}
}

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
		core.Write("CreateIntegration", r.onAPI(integrations.create(r, newIntegration, applyIntegrationOf))),
		core.Read("GetIntegrations", r.onAPI(integrations.list)),
		core.Read("GetIntegration", integrations.on(r, integrations.get)),
		core.Write("UpdateIntegration", integrations.on(r, integrations.update(r, applyIntegrationOf))),
		core.Write("DeleteIntegration", integrations.on(r, r.deleteIntegration)),
		core.Write("CreateRoute", r.onAPI(routes.create(r, newRoute, applyRoute))),
		core.Read("GetRoutes", r.onAPI(routes.list)),
		core.Read("GetRoute", routes.on(r, routes.get)),
		core.Write("UpdateRoute", routes.on(r, routes.update(r, applyRoute))),
		core.Write("DeleteRoute", routes.on(r, routes.remove(r))),
		core.Write("CreateStage", r.onAPI(stages.create(r, func() *stageRec { return &stageRec{} }, newStageOf))),
		core.Read("GetStages", r.onAPI(stages.list)),
		core.Read("GetStage", stages.on(r, stages.get)),
		core.Write("UpdateStage", stages.on(r, stages.update(r, applyStageOf))),
		core.Write("DeleteStage", stages.on(r, stages.remove(r))),
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

// child is one kind of an API's sub-resources (integrations, routes, stages): where they
// are kept, their ids, how one is shown, the answer for an id that is not there.
type child[T any] struct {
	of       func(a *apiRec) map[string]*T
	id       func(*T) string
	render   func(*T) map[string]any
	notFound string
}

var (
	integrations = child[integrationRec]{of: func(a *apiRec) map[string]*integrationRec { return a.Integrations },
		id: func(i *integrationRec) string { return i.ID }, render: integrationJSON, notFound: "Invalid Integration identifier specified"}
	routes = child[routeRec]{of: func(a *apiRec) map[string]*routeRec { return a.Routes },
		id: func(rt *routeRec) string { return rt.ID }, render: routeJSON, notFound: "Invalid Route identifier specified"}
	stages = child[stageRec]{of: func(a *apiRec) map[string]*stageRec { return a.Stages },
		id: func(s *stageRec) string { return s.Name }, render: stageJSON, notFound: "Invalid stage identifier specified"}
)

// on is onAPI on the sub-resource the path's second id names (NotFound when it is not there).
func (c child[T]) on(r *Room, h func(q *core.Request, a *apiRec, it *T, b body)) func(*core.Request) {
	return r.onAPI(func(q *core.Request, a *apiRec, b body) {
		it := c.of(a)[q.Args[1]]
		if it == nil {
			apigwError(q, http.StatusNotFound, "NotFoundException", c.notFound)
			return
		}
		h(q, a, it, b)
	})
}

// create makes a fresh one, applies the body (false: answered), keeps it, answers 201.
func (c child[T]) create(r *Room, fresh func() *T, apply func(*core.Request, *apiRec, *T, body) bool) func(*core.Request, *apiRec, body) {
	return func(q *core.Request, a *apiRec, b body) {
		it := fresh()
		if !apply(q, a, it, b) {
			return
		}
		c.of(a)[c.id(it)] = it
		r.commitLocked()
		q.RestJSON(http.StatusCreated, c.render(it))
	}
}

func (c child[T]) list(q *core.Request, a *apiRec, _ body) {
	m := c.of(a)
	var list []*T
	for _, k := range core.SortedKeys(m) {
		list = append(list, m[k])
	}
	pageItems(q, list, c.render)
}

func (c child[T]) get(q *core.Request, _ *apiRec, it *T, _ body) {
	q.RestJSON(http.StatusOK, c.render(it))
}

// update applies the body to a copy (false: answered, nothing changed), then keeps it.
func (c child[T]) update(r *Room, apply func(*core.Request, *apiRec, *T, body) bool) func(*core.Request, *apiRec, *T, body) {
	return func(q *core.Request, a *apiRec, it *T, b body) {
		cp := *it
		if !apply(q, a, &cp, b) {
			return
		}
		*it = cp
		r.commitLocked()
		q.RestJSON(http.StatusOK, c.render(it))
	}
}

func (c child[T]) remove(r *Room) func(*core.Request, *apiRec, *T, body) {
	return func(q *core.Request, a *apiRec, it *T, _ body) {
		delete(c.of(a), c.id(it))
		r.commitLocked()
		q.NoContent(http.StatusNoContent)
	}
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

func newIntegration() *integrationRec {
	return &integrationRec{ID: core.RandomID(7), ConnectionType: "INTERNET", TimeoutMillis: 30000}
}

func applyIntegrationOf(q *core.Request, _ *apiRec, i *integrationRec, b body) bool {
	return applyIntegration(q, i, b)
}

// deleteIntegration refuses while a route targets it.
func (r *Room) deleteIntegration(q *core.Request, a *apiRec, i *integrationRec, b body) {
	for _, rt := range a.Routes {
		if rt.Target == "integrations/"+i.ID {
			apigwError(q, http.StatusConflict, "ConflictException", "Cannot delete Integration "+i.ID+": it is referenced by route "+rt.RouteKey)
			return
		}
	}
	integrations.remove(r)(q, a, i, b)
}

func newRoute() *routeRec { return &routeRec{ID: core.RandomID(7), AuthorizationType: "NONE"} }

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

// newStageOf makes the stage the body names (a valid name not taken; false: answered).
func newStageOf(q *core.Request, a *apiRec, s *stageRec, b body) bool {
	name, _ := jstr(b, "stageName")
	if !stageNameRE.MatchString(name) {
		badRequest(q, "Invalid stage name specified: "+name)
		return false
	}
	if a.Stages[name] != nil {
		apigwError(q, http.StatusConflict, "ConflictException", "Stage already exists")
		return false
	}
	*s = stageRec{Name: name, Tags: jmap(b, "tags"), Created: time.Now().UTC()}
	applyStage(s, b)
	return true
}

func applyStageOf(_ *core.Request, _ *apiRec, s *stageRec, b body) bool {
	applyStage(s, b)
	return true
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
