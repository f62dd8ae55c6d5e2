package lambda

import (
	"net/http"
	"regexp"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

type aliasIn struct {
	Name            string
	FunctionVersion *string
	Description     *string
	RevisionId      string
	RoutingConfig   *struct {
		AdditionalVersionWeights map[string]float64
	}
}

// checkVersion answers ResourceNotFound for a version an alias cannot point at.
func checkVersion(q *core.Request, f *functionRec, v string) bool {
	if v != "$LATEST" && f.Versions[v] == nil {
		fnNotFound(q, f.qualifiedARN(v))
		return false
	}
	return true
}

func aliasJSON(f *functionRec, a *aliasRec) map[string]any {
	out := map[string]any{
		"AliasArn":        f.qualifiedARN(a.Name),
		"Name":            a.Name,
		"FunctionVersion": a.FunctionVersion,
		"Description":     a.Description,
		"RevisionId":      a.RevisionID,
	}
	if len(a.Weights) > 0 {
		out["RoutingConfig"] = map[string]any{"AdditionalVersionWeights": a.Weights}
	}
	return out
}

func (r *Room) createAlias(q *core.Request, f *functionRec, _ string) {
	var in aliasIn
	if !decode(q, &in) {
		return
	}
	if !aliasNameRE.MatchString(in.Name) || regexp.MustCompile(`^[0-9]+$`).MatchString(in.Name) || in.Name == "$LATEST" {
		invalidParam(q, "1 validation error detected: Value '"+in.Name+"' at 'name' failed to satisfy constraint: Member must satisfy regular expression pattern: (?!^[0-9]+$)([a-zA-Z0-9-_]+)")
		return
	}
	if in.FunctionVersion == nil || !checkVersion(q, f, *in.FunctionVersion) {
		if in.FunctionVersion == nil {
			invalidParam(q, "FunctionVersion is required")
		}
		return
	}
	if f.Aliases[in.Name] != nil {
		lambdaError(q, http.StatusConflict, "ResourceConflictException", "Alias already exists: "+f.qualifiedARN(in.Name))
		return
	}
	a := &aliasRec{Name: in.Name, FunctionVersion: *in.FunctionVersion, RevisionID: core.NewRequestID()}
	if in.Description != nil {
		a.Description = *in.Description
	}
	if in.RoutingConfig != nil {
		a.Weights = in.RoutingConfig.AdditionalVersionWeights
	}
	f.Aliases[a.Name] = a
	r.commitLocked()
	q.RestJSON(http.StatusCreated, aliasJSON(f, a))
}

func getAlias(q *core.Request, f *functionRec, a *aliasRec) {
	q.RestJSON(http.StatusOK, aliasJSON(f, a))
}

func (r *Room) updateAlias(q *core.Request, f *functionRec, a *aliasRec) {
	var in aliasIn
	if !decode(q, &in) || !checkRevision(q, in.RevisionId, a.RevisionID) {
		return
	}
	if in.FunctionVersion != nil {
		if !checkVersion(q, f, *in.FunctionVersion) {
			return
		}
		a.FunctionVersion = *in.FunctionVersion
	}
	if in.Description != nil {
		a.Description = *in.Description
	}
	if in.RoutingConfig != nil {
		a.Weights = in.RoutingConfig.AdditionalVersionWeights
	}
	a.RevisionID = core.NewRequestID()
	r.commitLocked()
	q.RestJSON(http.StatusOK, aliasJSON(f, a))
}

func (r *Room) deleteAlias(q *core.Request, f *functionRec, _ string) {
	name := pathArg(q)
	if f.Aliases[name] != nil {
		delete(f.Aliases, name)
		delete(f.Policies, name)
		r.commitLocked()
	}
	q.NoContent(http.StatusNoContent)
}

func (r *Room) listAliases(q *core.Request, f *functionRec, _ string) {
	qs := q.R.URL.Query()
	var list []*aliasRec
	for _, k := range core.SortedKeys(f.Aliases) {
		a := f.Aliases[k]
		if fv := qs.Get("FunctionVersion"); fv == "" || fv == a.FunctionVersion {
			list = append(list, a)
		}
	}
	start, end, next := core.PageIndex(len(list), qs.Get("Marker"), qs.Get("MaxItems"), 50)
	out := []map[string]any{}
	for _, a := range list[start:end] {
		out = append(out, aliasJSON(f, a))
	}
	resp := map[string]any{"Aliases": out}
	if next != "" {
		resp["NextMarker"] = next
	}
	q.RestJSON(http.StatusOK, resp)
}
