package ecs

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

var familyRE = regexp.MustCompile(`^[a-zA-Z0-9_-]{1,255}$`)

// fargateMemory lists, per task CPU, the memory sizes (MiB) Fargate accepts.
var fargateMemory = map[int][]int{
	256:   {512, 1024, 2048},
	512:   steps(1024, 4096, 1024),
	1024:  steps(2048, 8192, 1024),
	2048:  steps(4096, 16384, 1024),
	4096:  steps(8192, 30720, 1024),
	8192:  steps(16384, 61440, 4096),
	16384: steps(32768, 122880, 8192),
}

func steps(from, to, by int) []int {
	var out []int
	for v := from; v <= to; v += by {
		out = append(out, v)
	}
	return out
}

func (r *Room) registerTaskDefinition(q *core.Request, in *map[string]any) (any, error) {
	def := *in
	if def == nil {
		def = map[string]any{}
	}
	tags, err := decodeTags(def["tags"])
	if err != nil {
		return nil, err
	}
	delete(def, "tags")
	if err := normaliseTaskDef(def); err != nil {
		return nil, err
	}
	family := def["family"].(string)
	key := q.Region + "/" + family
	f := r.st.TaskDefs[key]
	if f == nil {
		f = &taskDefRec{Family: family, Region: q.Region}
		r.st.TaskDefs[key] = f
	}
	v := &revisionRec{Def: def, Region: q.Region, Family: family, Revision: len(f.Revisions) + 1,
		Status: "ACTIVE", RegisteredAt: now(), Tags: tags}
	f.Revisions = append(f.Revisions, v)
	r.commitLocked()
	return map[string]any{"taskDefinition": v.answer(), "tags": v.Tags}, nil
}

func decodeTags(v any) ([]tag, error) {
	out := []tag{}
	if v == nil {
		return out, nil
	}
	list, ok := v.([]any)
	if !ok {
		return nil, invalidErr("tags must be a list of {key, value}")
	}
	for _, x := range list {
		m, _ := x.(map[string]any)
		k, _ := m["key"].(string)
		val, _ := m["value"].(string)
		if k == "" {
			return nil, invalidErr("Tag keys must not be empty.")
		}
		out = append(out, tag{Key: k, Value: val})
	}
	return out, nil
}

// normaliseTaskDef checks a task definition as ECS does and fills in ECS's defaults.
func normaliseTaskDef(def map[string]any) error {
	family, _ := def["family"].(string)
	if !familyRE.MatchString(family) {
		return clientErr("Family contains invalid characters or is too long: up to 255 letters, numbers, hyphens and underscores.")
	}
	for _, k := range []string{"cpu", "memory"} {
		if v, ok := def[k]; ok {
			n, err := sizeString(k, v)
			if err != nil {
				return err
			}
			def[k] = n
		}
	}
	containers, _ := def["containerDefinitions"].([]any)
	if len(containers) == 0 {
		return clientErr("Container list cannot be empty.")
	}
	if def["networkMode"] == nil {
		def["networkMode"] = "bridge"
	}
	fargate := false
	if rc, ok := def["requiresCompatibilities"].([]any); ok {
		for _, c := range rc {
			switch c {
			case "FARGATE":
				fargate = true
			case "EC2", "EXTERNAL", "MANAGED_INSTANCES":
			default:
				return clientErr(fmt.Sprintf("Invalid compatibility %v; valid: EC2, FARGATE, EXTERNAL.", c))
			}
		}
	}
	execRole, _ := def["executionRoleArn"].(string)
	names := map[string]bool{}
	essential := false
	for i, x := range containers {
		c, ok := x.(map[string]any)
		if !ok {
			return clientErr("Container definitions must be objects.")
		}
		if err := normaliseContainer(c, def["networkMode"] == "awsvpc"); err != nil {
			return err
		}
		name := c["name"].(string)
		if names[name] {
			return clientErr("Container names must be unique: " + name + " appears twice.")
		}
		names[name] = true
		if c["essential"] == true {
			essential = true
		}
		if fargate && execRole == "" {
			if lc, _ := c["logConfiguration"].(map[string]any); lc != nil && lc["logDriver"] == "awslogs" {
				return clientErr("Fargate requires task definition to have execution role ARN to support log driver awslogs.")
			}
			if s, _ := c["secrets"].([]any); len(s) > 0 {
				return clientErr("Fargate requires task definition to have execution role ARN to support secrets (container " + name + ").")
			}
		}
		containers[i] = c
	}
	if !essential {
		return clientErr("Task definition does not have any essential container.")
	}
	if fargate {
		if err := checkFargate(def); err != nil {
			return err
		}
	}
	for _, k := range []string{"volumes", "placementConstraints"} {
		if def[k] == nil {
			def[k] = []any{}
		}
	}
	return nil
}

// sizeString turns a task-level cpu or memory ("256", 256, "1 vCPU", "2 GB") into ECS's
// canonical string of units (CPU units, MiB).
func sizeString(k string, v any) (string, error) {
	bad := clientErr(fmt.Sprintf("Invalid '%s' value %v.", k, v))
	var s string
	switch x := v.(type) {
	case string:
		s = strings.TrimSpace(x)
	case float64:
		s = strconv.Itoa(int(x))
	default:
		return "", bad
	}
	mult, unit := 1.0, ""
	fields := strings.Fields(s)
	if len(fields) == 2 {
		s, unit = fields[0], strings.ToLower(fields[1])
	}
	switch unit {
	case "":
	case "vcpu":
		mult = 1024
	case "gb":
		mult = 1024
	default:
		return "", bad
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 {
		return "", bad
	}
	return strconv.Itoa(int(f * mult)), nil
}

func checkFargate(def map[string]any) error {
	if def["networkMode"] != "awsvpc" {
		return clientErr("Fargate only supports network mode 'awsvpc'.")
	}
	cpuS, _ := def["cpu"].(string)
	memS, _ := def["memory"].(string)
	if cpuS == "" {
		return clientErr("Fargate requires that 'cpu' be defined at the task level.")
	}
	if memS == "" {
		return clientErr("Fargate requires that 'memory' be defined at the task level.")
	}
	cpu, _ := strconv.Atoi(cpuS)
	mem, _ := strconv.Atoi(memS)
	for _, m := range fargateMemory[cpu] {
		if m == mem {
			return nil
		}
	}
	return clientErr(fmt.Sprintf("No Fargate configuration exists for given values: %d CPU, %d memory. See the Amazon ECS documentation for the valid combinations.", cpu, mem))
}

func normaliseContainer(c map[string]any, awsvpc bool) error {
	name, _ := c["name"].(string)
	if name == "" {
		return clientErr("Container.name should not be null or empty.")
	}
	if img, _ := c["image"].(string); img == "" {
		return clientErr("Container.image should not be null or empty.")
	}
	if c["essential"] == nil {
		c["essential"] = true
	}
	if c["cpu"] == nil {
		c["cpu"] = 0
	}
	for _, k := range []string{"environment", "mountPoints", "volumesFrom", "systemControls"} {
		if c[k] == nil {
			c[k] = []any{}
		}
	}
	pms, _ := c["portMappings"].([]any)
	for _, x := range pms {
		pm, _ := x.(map[string]any)
		cp, _ := pm["containerPort"].(float64)
		if cp < 1 || cp > 65535 {
			return clientErr("Container " + name + ": portMappings need a containerPort from 1 to 65535.")
		}
		hp, has := pm["hostPort"].(float64)
		if awsvpc && has && hp != 0 && hp != cp {
			return clientErr("When networkMode=awsvpc, the host ports and container ports in port mappings must match.")
		}
		if awsvpc || !has {
			pm["hostPort"] = cp
		}
		if pm["protocol"] == nil {
			pm["protocol"] = "tcp"
		}
	}
	if c["portMappings"] == nil {
		c["portMappings"] = []any{}
	}
	if hc, _ := c["healthCheck"].(map[string]any); hc != nil {
		cmd, _ := hc["command"].([]any)
		if len(cmd) < 2 || (cmd[0] != "CMD" && cmd[0] != "CMD-SHELL") {
			return clientErr("Container " + name + ": healthCheck.command must start with CMD or CMD-SHELL and name a command.")
		}
		for k, def := range map[string]float64{"interval": 30, "timeout": 5, "retries": 3, "startPeriod": 0} {
			if hc[k] == nil && k != "startPeriod" {
				hc[k] = def
			}
		}
	}
	if lc, _ := c["logConfiguration"].(map[string]any); lc != nil {
		if lc["logDriver"] == "awslogs" {
			opts, _ := lc["options"].(map[string]any)
			if opts["awslogs-group"] == nil || opts["awslogs-region"] == nil {
				return clientErr("Container " + name + ": the awslogs log driver needs the options awslogs-group and awslogs-region.")
			}
		}
	}
	return nil
}

// revision finds a task definition by "family", "family:revision" or ARN; family alone is
// its latest ACTIVE revision.
func (r *Room) revision(region, ref string) *revisionRec {
	if strings.HasPrefix(ref, "arn:") {
		return r.revisionByARN(ref)
	}
	family, rev, hasRev := strings.Cut(ref, ":")
	f := r.st.TaskDefs[region+"/"+family]
	if f == nil {
		return nil
	}
	if hasRev {
		n, err := strconv.Atoi(rev)
		if err != nil || n < 1 || n > len(f.Revisions) {
			return nil
		}
		return f.Revisions[n-1]
	}
	for i := len(f.Revisions) - 1; i >= 0; i-- {
		if f.Revisions[i].Status == "ACTIVE" {
			return f.Revisions[i]
		}
	}
	return nil
}

func (r *Room) revisionByARN(arn string) *revisionRec {
	i := strings.Index(arn, ":task-definition/")
	if i < 0 {
		return nil
	}
	ref := arn[i+len(":task-definition/"):]
	if !strings.Contains(ref, ":") {
		return nil
	}
	return r.revision(regionOfARN(arn), ref)
}

type taskDefIn struct {
	TaskDefinition string   `json:"taskDefinition"`
	Include        []string `json:"include"`
	FamilyPrefix   string   `json:"familyPrefix"`
	Status         string   `json:"status"`
	Sort           string   `json:"sort"`
	NextToken      string   `json:"nextToken"`
	MaxResults     int      `json:"maxResults"`
}

func (r *Room) describeTaskDefinition(q *core.Request, in *taskDefIn) (any, error) {
	v := r.revision(q.Region, in.TaskDefinition)
	if v == nil {
		return nil, errTaskDefNotFound
	}
	out := map[string]any{"taskDefinition": v.answer()}
	if contains(in.Include, "TAGS") {
		out["tags"] = nonNilTags(v.Tags)
	}
	return out, nil
}

func (r *Room) deregisterTaskDefinition(q *core.Request, in *taskDefIn) (any, error) {
	if !strings.Contains(lastPart(in.TaskDefinition), ":") {
		return nil, clientErr("Revision must be specified: family:revision or the full ARN.")
	}
	v := r.revision(q.Region, in.TaskDefinition)
	if v == nil {
		return nil, clientErr("The specified task definition does not exist.")
	}
	if v.Status == "ACTIVE" {
		v.Status, v.Deregistered = "INACTIVE", now()
		r.commitLocked()
	}
	return map[string]any{"taskDefinition": v.answer()}, nil
}

func (r *Room) listTaskDefinitions(q *core.Request, in *taskDefIn) (any, error) {
	status := in.Status
	if status == "" {
		status = "ACTIVE"
	}
	var revs []*revisionRec
	for _, f := range r.st.TaskDefs {
		if f.Region != q.Region || (in.FamilyPrefix != "" && !strings.HasPrefix(f.Family, in.FamilyPrefix)) {
			continue
		}
		for _, v := range f.Revisions {
			if v.Status == status {
				revs = append(revs, v)
			}
		}
	}
	sort.Slice(revs, func(i, j int) bool {
		a, b := revs[i], revs[j]
		less := a.Family < b.Family || a.Family == b.Family && a.Revision < b.Revision
		if in.Sort == "DESC" {
			return !less
		}
		return less
	})
	arns := make([]string, len(revs))
	for i, v := range revs {
		arns[i] = v.arn()
	}
	items, next := page(arns, in.NextToken, in.MaxResults, 100)
	return listAnswer("taskDefinitionArns", items, next), nil
}

func (r *Room) listTaskDefinitionFamilies(q *core.Request, in *taskDefIn) (any, error) {
	status := in.Status
	if status == "" {
		status = "ACTIVE"
	}
	var fams []string
	for _, f := range r.st.TaskDefs {
		if f.Region != q.Region || !strings.HasPrefix(f.Family, in.FamilyPrefix) {
			continue
		}
		active := false
		for _, v := range f.Revisions {
			active = active || v.Status == "ACTIVE"
		}
		if status == "ALL" || (status == "ACTIVE") == active {
			fams = append(fams, f.Family)
		}
	}
	sort.Strings(fams)
	items, next := page(fams, in.NextToken, in.MaxResults, 100)
	return listAnswer("families", items, next), nil
}
