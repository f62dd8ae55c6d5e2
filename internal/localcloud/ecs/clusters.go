package ecs

import (
	"sort"
	"strings"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

// Ops is the ECS operation table.
func (r *Room) Ops() []core.Op {
	return []core.Op{
		core.Write("CreateCluster", with(r, r.createCluster)),
		core.Read("DescribeClusters", with(r, r.describeClusters)),
		core.Write("DeleteCluster", with(r, r.deleteCluster)),
		core.Read("ListClusters", with(r, r.listClusters)),
		core.Write("RegisterTaskDefinition", with(r, r.registerTaskDefinition)),
		core.Read("DescribeTaskDefinition", with(r, r.describeTaskDefinition)),
		core.Write("DeregisterTaskDefinition", with(r, r.deregisterTaskDefinition)),
		core.Read("ListTaskDefinitions", with(r, r.listTaskDefinitions)),
		core.Write("DeleteTaskDefinitions", with(r, r.deleteTaskDefinitions)),
		core.Read("ListTaskDefinitionFamilies", with(r, r.listTaskDefinitionFamilies)),
		core.Write("CreateService", with(r, r.createService)),
		core.Write("UpdateService", with(r, r.updateService)),
		core.Read("DescribeServices", with(r, r.describeServices)),
		core.Write("DeleteService", with(r, r.deleteService)),
		core.Read("ListServices", with(r, r.listServices)),
		core.Write("RunTask", with(r, r.runTask)),
		core.Write("StopTask", with(r, r.stopTask)),
		core.Read("DescribeTasks", with(r, r.describeTasks)),
		core.Read("ListTasks", with(r, r.listTasks)),
		core.Write("TagResource", with(r, r.tagResource)),
		core.Write("UntagResource", with(r, r.untagResource)),
		core.Read("ListTagsForResource", with(r, r.listTagsForResource)),
	}
}

type clusterIn struct {
	ClusterName string     `json:"clusterName"`
	Cluster     string     `json:"cluster"`
	Clusters    []string   `json:"clusters"`
	Tags        []tag      `json:"tags"`
	Settings    []keyValue `json:"settings"`
	Include     []string   `json:"include"`
	NextToken   string     `json:"nextToken"`
	MaxResults  int        `json:"maxResults"`
}

func (r *Room) createCluster(q *core.Request, in *clusterIn) (any, error) {
	name := in.ClusterName
	if name == "" {
		name = "default"
	}
	if !validName(name) {
		return nil, invalidErr("Cluster name can have up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores.")
	}
	arn := arnOf(q.Region, "cluster", name)
	if cl := r.st.Clusters[arn]; cl != nil && cl.Status == "ACTIVE" {
		// CreateCluster is idempotent for an active cluster of that name.
		return map[string]any{"cluster": r.clusterAnswer(cl, true)}, nil
	}
	settings := in.Settings
	if settings == nil {
		settings = []keyValue{{Name: "containerInsights", Value: "disabled"}}
	}
	cl := &clusterRec{ClusterArn: arn, ClusterName: name, Status: "ACTIVE", Tags: nonNilTags(in.Tags), Settings: settings, Region: q.Region}
	r.st.Clusters[arn] = cl
	r.commitLocked()
	return map[string]any{"cluster": r.clusterAnswer(cl, true)}, nil
}

func validName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func nonNilTags(t []tag) []tag {
	if t == nil {
		return []tag{}
	}
	return t
}

// clusterARN is the ARN a cluster reference (name or ARN, "" = default) names.
func clusterARN(region, ref string) string {
	if ref == "" {
		ref = "default"
	}
	if strings.HasPrefix(ref, "arn:") {
		return ref
	}
	return arnOf(region, "cluster", ref)
}

// cluster finds an ACTIVE cluster or answers ClusterNotFoundException.
func (r *Room) cluster(region, ref string) (*clusterRec, error) {
	cl := r.st.Clusters[clusterARN(region, ref)]
	if cl == nil || cl.Status != "ACTIVE" {
		return nil, errClusterNotFound
	}
	return cl, nil
}

func (r *Room) clusterAnswer(cl *clusterRec, withTags bool) map[string]any {
	running, pending, services := 0, 0, 0
	if cl.Status == "ACTIVE" {
		for _, t := range r.st.Tasks {
			if t.ClusterArn != cl.ClusterArn {
				continue
			}
			switch t.LastStatus {
			case "RUNNING":
				running++
			case "PROVISIONING", "PENDING", "ACTIVATING":
				pending++
			}
		}
		for _, s := range r.st.Services {
			if s.ClusterArn == cl.ClusterArn && s.Status == "ACTIVE" {
				services++
			}
		}
	}
	m := map[string]any{
		"clusterArn": cl.ClusterArn, "clusterName": cl.ClusterName, "status": cl.Status,
		"registeredContainerInstancesCount": 0, "runningTasksCount": running, "pendingTasksCount": pending,
		"activeServicesCount": services, "statistics": []any{}, "settings": cl.Settings,
		"capacityProviders": []string{}, "defaultCapacityProviderStrategy": []any{},
	}
	if withTags {
		m["tags"] = cl.Tags
	}
	return m
}

func (r *Room) describeClusters(q *core.Request, in *clusterIn) (any, error) {
	refs := in.Clusters
	if len(refs) == 0 {
		refs = []string{"default"}
	}
	withTags := contains(in.Include, "TAGS")
	clusters, failures := []any{}, []any{}
	for _, ref := range refs {
		arn := clusterARN(q.Region, ref)
		if cl := r.st.Clusters[arn]; cl != nil {
			clusters = append(clusters, r.clusterAnswer(cl, withTags))
		} else {
			failures = append(failures, map[string]any{"arn": arn, "reason": "MISSING"})
		}
	}
	return map[string]any{"clusters": clusters, "failures": failures}, nil
}

func (r *Room) deleteCluster(q *core.Request, in *clusterIn) (any, error) {
	cl, err := r.cluster(q.Region, in.Cluster)
	if err != nil {
		return nil, err
	}
	for _, s := range r.st.Services {
		if s.ClusterArn == cl.ClusterArn && s.Status != "INACTIVE" {
			return nil, &apiError{Code: "ClusterContainsServicesException", Msg: "The Cluster cannot be deleted while Services are active."}
		}
	}
	for _, t := range r.st.Tasks {
		if t.ClusterArn == cl.ClusterArn && t.LastStatus != "STOPPED" {
			return nil, &apiError{Code: "ClusterContainsTasksException", Msg: "The Cluster cannot be deleted while Tasks are active."}
		}
	}
	cl.Status = "INACTIVE"
	r.commitLocked()
	return map[string]any{"cluster": r.clusterAnswer(cl, false)}, nil
}

func (r *Room) listClusters(q *core.Request, in *clusterIn) (any, error) {
	var arns []string
	for arn, cl := range r.st.Clusters {
		if cl.Status == "ACTIVE" && cl.Region == q.Region {
			arns = append(arns, arn)
		}
	}
	sort.Strings(arns)
	items, next := page(arns, in.NextToken, in.MaxResults, 100)
	return listAnswer("clusterArns", items, next), nil
}

func listAnswer(key string, items []string, next string) map[string]any {
	if items == nil {
		items = []string{}
	}
	m := map[string]any{key: items}
	if next != "" {
		m["nextToken"] = next
	}
	return m
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// Tags (TagResource, UntagResource, ListTagsForResource) on clusters, services, task
// definitions and tasks, by ARN.

type tagIn struct {
	ResourceArn string   `json:"resourceArn"`
	Tags        []tag    `json:"tags"`
	TagKeys     []string `json:"tagKeys"`
}

// taggable finds the tag list of the resource an ARN names.
func (r *Room) taggable(arn string) (*[]tag, error) {
	switch {
	case strings.Contains(arn, ":cluster/"):
		if cl := r.st.Clusters[arn]; cl != nil && cl.Status == "ACTIVE" {
			return &cl.Tags, nil
		}
		return nil, errClusterNotFound
	case strings.Contains(arn, ":service/"):
		if s := r.st.Services[arn]; s != nil && s.Status != "INACTIVE" {
			return &s.Tags, nil
		}
		return nil, errServiceNotFound
	case strings.Contains(arn, ":task-definition/"):
		if v := r.revisionByARN(arn); v != nil {
			return &v.Tags, nil
		}
		return nil, clientErr("The specified task definition does not exist.")
	case strings.Contains(arn, ":task/"):
		if t := r.st.Tasks[arn]; t != nil {
			return &t.Tags, nil
		}
		return nil, invalidErr("The specified task is stopped or does not exist.")
	}
	return nil, invalidErr("The ARN provided is invalid: " + arn)
}

func (r *Room) tagResource(_ *core.Request, in *tagIn) (any, error) {
	tags, err := r.taggable(in.ResourceArn)
	if err != nil {
		return nil, err
	}
	*tags = mergeTags(*tags, in.Tags)
	r.commitLocked()
	return map[string]any{}, nil
}

func mergeTags(have, add []tag) []tag {
	out := append([]tag{}, have...)
	for _, t := range add {
		replaced := false
		for i := range out {
			if out[i].Key == t.Key {
				out[i].Value, replaced = t.Value, true
			}
		}
		if !replaced {
			out = append(out, t)
		}
	}
	return out
}

func (r *Room) untagResource(_ *core.Request, in *tagIn) (any, error) {
	tags, err := r.taggable(in.ResourceArn)
	if err != nil {
		return nil, err
	}
	out := []tag{}
	for _, t := range *tags {
		if !contains(in.TagKeys, t.Key) {
			out = append(out, t)
		}
	}
	*tags = out
	r.commitLocked()
	return map[string]any{}, nil
}

func (r *Room) listTagsForResource(_ *core.Request, in *tagIn) (any, error) {
	tags, err := r.taggable(in.ResourceArn)
	if err != nil {
		return nil, err
	}
	return map[string]any{"tags": nonNilTags(*tags)}, nil
}
