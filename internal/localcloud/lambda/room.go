// Package lambda is the local cloud's Lambda (restJson): functions, versions, aliases,
// resource policies and tags, with the code stored by content (STATE_DIR/code) and run
// for real under the Lambda Runtime Interface Emulator (exec.go, internal/lambdalocal).
package lambda

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

// stateFile is the room's document; its fields are named as in the old state.json.
const stateFile = "lambda.json"

type doc struct {
	Functions map[string]*functionRec `json:"functions"`
}

// Room is Lambda.
type Room struct {
	core.RestJSONService // q.Args: the function (or tagged ARN) and the path's second id
	cloud                *core.Cloud
	roles                core.Roles        // IAM: may Lambda assume a role yet
	objects              core.Objects      // S3: code given as S3Bucket/S3Key
	logs                 core.FunctionLogs // CloudWatch Logs: what functions print
	mu                   sync.Mutex
	st                   doc
	exec                 *executor
}

// New returns the Lambda room.
func New() *Room {
	return &Room{RestJSONService: core.RestJSONService{Routes: lambdaRoute, Error: lambdaError,
		UnknownCode: "UnknownOperationException", FailCode: "ServiceException", ThrottleMsg: "Rate exceeded"}}
}

func (*Room) Name() string { return "lambda" }

func (r *Room) Open(c *core.Cloud) error {
	r.cloud = c
	r.roles = core.Peer[core.Roles](c)
	r.objects = core.Peer[core.Objects](c)
	r.logs = core.Peer[core.FunctionLogs](c)
	if r.logs == nil {
		r.logs = discardLogs{}
	}
	r.st = doc{}
	if err := c.LoadDoc(stateFile, &r.st, true); err != nil {
		return err
	}
	if r.st.Functions == nil {
		r.st.Functions = map[string]*functionRec{}
	}
	for _, f := range r.st.Functions {
		f.fixup()
	}
	r.exec = newExecutor(r)
	return nil
}

type discardLogs struct{}

func (discardLogs) AppendFunctionLog(string, string, string, string) {}

// Close stops the function environments and the unpacking of code.
func (r *Room) Close() {
	if r.exec != nil {
		r.exec.closeAll()
		r.exec.tasks.close()
	}
}

func (r *Room) Save() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cloud.SaveDoc(stateFile, &r.st)
}

// commitLocked saves after a change and unpacks new code now, not on its first invocation.
// r.mu must be held.
func (r *Room) commitLocked() {
	r.cloud.CommitDoc(stateFile, &r.st)
	r.exec.tasks.prepare(r.codeInUseLocked())
}

func (r *Room) Resources(match func(map[string]string) bool) []core.Resource {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []core.Resource
	for _, f := range r.st.Functions {
		if match(f.Tags) {
			out = append(out, core.Resource{Service: "lambda", Type: "function", Name: f.Name, ARN: f.arn(), Tags: core.CopyMap(f.Tags)})
		}
	}
	return out
}

// Guess recognises Lambda's unsigned requests by their path.
func (*Room) Guess(req *http.Request) bool {
	return strings.HasPrefix(req.URL.Path, "/2015-03-31/") || strings.HasPrefix(req.URL.Path, "/2017-03-31/")
}

// ServeAdmin serves GET /_localcloud/code/<sha256 hex>.zip: the Code.Location of GetFunction.
func (r *Room) ServeAdmin(w http.ResponseWriter, req *http.Request) bool {
	name, ok := strings.CutPrefix(req.URL.Path, "/_localcloud/code/")
	if !ok || req.Method != http.MethodGet {
		return false
	}
	h := strings.TrimSuffix(name, ".zip")
	if len(h) != 64 || strings.Trim(h, "0123456789abcdef") != "" {
		http.Error(w, "not found", http.StatusNotFound)
		return true
	}
	w.Header().Set("Content-Type", "application/zip")
	http.ServeFile(w, req, r.zipPath(h))
	return true
}

func lambdaError(q *core.Request, status int, code, msg string) {
	typ := "User"
	if status >= 500 {
		typ = "Service"
	}
	lambdaErrorType(q, status, code, typ, msg)
}

func lambdaErrorType(q *core.Request, status int, code, typ, msg string) {
	q.RestJSONError(status, code, map[string]string{"Type": typ, "message": msg})
}

func invalidParam(q *core.Request, msg string) {
	lambdaError(q, http.StatusBadRequest, "InvalidParameterValueException", msg)
}

func fnNotFound(q *core.Request, arn string) {
	lambdaError(q, http.StatusNotFound, "ResourceNotFoundException", "Function not found: "+arn)
}

func decode(q *core.Request, v any) bool {
	const maxBody = 70_167_211 // what Lambda accepts for CreateFunction/UpdateFunctionCode
	body, err := core.ReadLimited(q.R.Body, maxBody)
	if errors.Is(err, core.ErrTooLarge) {
		lambdaError(q, http.StatusRequestEntityTooLarge, "RequestEntityTooLargeException", fmt.Sprintf("Request must be smaller than %d bytes for the %s operation", maxBody, q.Op))
		return false
	}
	if err != nil {
		lambdaError(q, http.StatusBadRequest, "InvalidRequestContentException", "Could not read request body")
		return false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return true
	}
	if err := json.Unmarshal(body, v); err != nil {
		lambdaError(q, http.StatusBadRequest, "InvalidRequestContentException", "Could not parse request body into json: "+err.Error())
		return false
	}
	return true
}

// lambdaRoute is the operation a REST path and method name.
func lambdaRoute(method, path string) (op string, args []string) {
	switch {
	case strings.HasPrefix(path, "/2017-03-31/tags/"):
		arn := strings.TrimPrefix(path, "/2017-03-31/tags/")
		switch method {
		case http.MethodPost:
			return "TagResource", []string{arn}
		case http.MethodDelete:
			return "UntagResource", []string{arn}
		case http.MethodGet:
			return "ListTags", []string{arn}
		}
		return "", nil
	case path == "/2015-03-31/functions" || path == "/2015-03-31/functions/":
		switch method {
		case http.MethodPost:
			return "CreateFunction", nil
		case http.MethodGet:
			return "ListFunctions", nil
		}
		return "", nil
	case strings.HasPrefix(path, "/2015-03-31/functions/"):
	default:
		return "", nil
	}
	rest := strings.Split(strings.TrimPrefix(path, "/2015-03-31/functions/"), "/")
	fn := rest[0]
	sub := rest[1:]
	key := method
	if len(sub) > 0 {
		key += " " + sub[0]
		if len(sub) > 1 {
			key += " X"
		}
		if len(sub) > 2 {
			return "", nil
		}
	}
	ops := map[string]string{
		"GET": "GetFunction", "DELETE": "DeleteFunction",
		"GET configuration": "GetFunctionConfiguration", "PUT configuration": "UpdateFunctionConfiguration",
		"PUT code":      "UpdateFunctionCode",
		"POST versions": "PublishVersion", "GET versions": "ListVersionsByFunction",
		"POST aliases": "CreateAlias", "GET aliases": "ListAliases",
		"GET aliases X": "GetAlias", "PUT aliases X": "UpdateAlias", "DELETE aliases X": "DeleteAlias",
		"POST policy": "AddPermission", "GET policy": "GetPolicy", "DELETE policy X": "RemovePermission",
		"POST invocations": "Invoke",
	}
	op = ops[key]
	args = []string{fn}
	if len(sub) == 2 {
		args = append(args, sub[1])
	}
	return op, args
}
