package ecs

import (
	"encoding/json"
	"net/http"
	"strings"
)

// The task metadata endpoint (v4) that a container finds in ECS_CONTAINER_METADATA_URI_V4:
// GET .../metadata/<task id>/<container> is the container, .../task the task. It is
// served under /_localcloud/ecs/metadata/ (never counted, never faulted).

const metadataPath = "/_localcloud/ecs/metadata/"

// ServeAdmin serves the task metadata endpoint.
func (r *Room) ServeAdmin(w http.ResponseWriter, req *http.Request) bool {
	rest, ok := strings.CutPrefix(req.URL.Path, metadataPath)
	if !ok {
		return false
	}
	parts := strings.Split(rest, "/")
	if len(parts) < 2 || len(parts) > 3 || req.Method != http.MethodGet {
		http.Error(w, "not found", http.StatusNotFound)
		return true
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.taskByID(parts[0])
	if t == nil {
		http.Error(w, "no such task", http.StatusNotFound)
		return true
	}
	var body any
	switch {
	case len(parts) == 3 && parts[2] == "task":
		body = r.taskMetadata(t)
	case len(parts) == 2:
		c := containerNamed(t, parts[1])
		if c == nil {
			http.Error(w, "no such container", http.StatusNotFound)
			return true
		}
		body = r.containerMetadata(t, c)
	default:
		http.Error(w, "not found", http.StatusNotFound)
		return true
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(body)
	return true
}

func (r *Room) taskByID(id string) *taskRec {
	for arn, t := range r.st.Tasks {
		if strings.HasSuffix(arn, "/"+id) {
			return t
		}
	}
	return nil
}

func containerNamed(t *taskRec, name string) *containerRec {
	for _, c := range t.Containers {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func (r *Room) taskIP(t *taskRec) string {
	for _, d := range t.Attachments[0].Details {
		if d.Name == "privateIPv4Address" {
			return d.Value
		}
	}
	return ""
}

func (r *Room) containerMetadata(t *taskRec, c *containerRec) map[string]any {
	family, rev, _ := strings.Cut(lastPart(t.TaskDefinitionArn), ":")
	m := map[string]any{
		"DockerId": t.id() + "-" + c.Name, "Name": c.Name, "DockerName": c.Name, "Image": c.Image,
		"Labels": map[string]string{
			"com.amazonaws.ecs.cluster": t.ClusterArn, "com.amazonaws.ecs.container-name": c.Name,
			"com.amazonaws.ecs.task-arn": t.TaskArn, "com.amazonaws.ecs.task-definition-family": family,
			"com.amazonaws.ecs.task-definition-version": rev,
		},
		"DesiredStatus": t.DesiredStatus, "KnownStatus": c.LastStatus, "Type": "NORMAL",
		"ContainerARN": c.ContainerArn,
		"Networks":     []map[string]any{{"NetworkMode": "awsvpc", "IPv4Addresses": []string{r.taskIP(t)}}},
	}
	if c.ExitCode != nil {
		m["ExitCode"] = *c.ExitCode
	}
	return m
}

func (r *Room) taskMetadata(t *taskRec) map[string]any {
	family, rev, _ := strings.Cut(lastPart(t.TaskDefinitionArn), ":")
	var containers []map[string]any
	for _, c := range t.Containers {
		containers = append(containers, r.containerMetadata(t, c))
	}
	return map[string]any{
		"Cluster": t.ClusterArn, "TaskARN": t.TaskArn, "Family": family, "Revision": rev,
		"DesiredStatus": t.DesiredStatus, "KnownStatus": t.LastStatus, "Containers": containers,
		"AvailabilityZone": t.AvailabilityZone, "LaunchType": "FARGATE",
		"Limits": map[string]any{"CPU": t.Cpu, "Memory": t.Memory},
	}
}
