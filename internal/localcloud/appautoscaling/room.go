// Package appautoscaling is the local cloud's Application Auto Scaling (JSON 1.1) for ECS
// services: scalable targets (service/CLUSTER/SERVICE, ecs:service:DesiredCount) and
// target-tracking scaling policies. Registering a target clamps the service's desired
// count into [min, max] as AWS does; the policies are modelled only: no metric is
// measured and no scaling activity runs.
package appautoscaling

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

const stateFile = "applicationautoscaling.json"

const (
	namespaceECS     = "ecs"
	dimensionDesired = "ecs:service:DesiredCount"
	serviceRole      = "arn:aws:iam::" + core.AccountID + ":role/aws-service-role/ecs.application-autoscaling.amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService"
)

type doc struct {
	Targets  map[string]*target `json:"targets"`  // by region|namespace|resource|dimension
	Policies map[string]*policy `json:"policies"` // by target key|policy name
}

type suspended struct {
	DynamicScalingInSuspended  bool `json:"DynamicScalingInSuspended"`
	DynamicScalingOutSuspended bool `json:"DynamicScalingOutSuspended"`
	ScheduledScalingSuspended  bool `json:"ScheduledScalingSuspended"`
}

type target struct {
	ServiceNamespace  string            `json:"ServiceNamespace"`
	ResourceId        string            `json:"ResourceId"`
	ScalableDimension string            `json:"ScalableDimension"`
	MinCapacity       int               `json:"MinCapacity"`
	MaxCapacity       int               `json:"MaxCapacity"`
	RoleARN           string            `json:"RoleARN"`
	CreationTime      float64           `json:"CreationTime"`
	SuspendedState    suspended         `json:"SuspendedState"`
	ScalableTargetARN string            `json:"ScalableTargetARN"`
	Tags              map[string]string `json:"lcTags"`
	Region            string            `json:"lcRegion"`
}

type alarm struct {
	AlarmName string `json:"AlarmName"`
	AlarmARN  string `json:"AlarmARN"`
}

type policy struct {
	PolicyARN                                string          `json:"PolicyARN"`
	PolicyName                               string          `json:"PolicyName"`
	ServiceNamespace                         string          `json:"ServiceNamespace"`
	ResourceId                               string          `json:"ResourceId"`
	ScalableDimension                        string          `json:"ScalableDimension"`
	PolicyType                               string          `json:"PolicyType"`
	TargetTrackingScalingPolicyConfiguration json.RawMessage `json:"TargetTrackingScalingPolicyConfiguration,omitempty"`
	StepScalingPolicyConfiguration           json.RawMessage `json:"StepScalingPolicyConfiguration,omitempty"`
	Alarms                                   []alarm         `json:"Alarms"`
	CreationTime                             float64         `json:"CreationTime"`
	Region                                   string          `json:"lcRegion"`
}

// Room is Application Auto Scaling.
type Room struct {
	core.JSON11Service
	cloud    *core.Cloud
	services core.ScalableServices // ECS
	mu       sync.Mutex
	st       doc
}

// New returns the Application Auto Scaling room.
func New() *Room {
	return &Room{JSON11Service: core.JSON11Service{Prefix: targetPrefix, Title: "Application Auto Scaling",
		Codes: core.JSON11Codes{TooLarge: "ValidationException", Server: "InternalServiceException"}}}
}

func (*Room) Name() string { return "application-autoscaling" }

func (r *Room) Open(c *core.Cloud) error {
	r.cloud = c
	r.services = core.Peer[core.ScalableServices](c)
	r.st = doc{}
	if err := c.LoadDoc(stateFile, &r.st, false); err != nil {
		return err
	}
	if r.st.Targets == nil {
		r.st.Targets = map[string]*target{}
	}
	if r.st.Policies == nil {
		r.st.Policies = map[string]*policy{}
	}
	return nil
}

func (r *Room) Save() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.cloud.SaveDoc(stateFile, &r.st)
}

func (r *Room) commitLocked() {
	r.cloud.CommitDoc(stateFile, &r.st)
}

func (*Room) Close() {}

func (r *Room) Resources(match func(map[string]string) bool) []core.Resource {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []core.Resource
	for _, t := range r.st.Targets {
		if match(t.Tags) {
			out = append(out, core.Resource{Service: "application-autoscaling", Type: "scalable-target",
				Name: t.ResourceId, ARN: t.ScalableTargetARN, Tags: core.CopyMap(t.Tags)})
		}
	}
	return out
}

const targetPrefix = "AnyScaleFrontendService"

// Ops is the operation table.
func (r *Room) Ops() []core.Op {
	return []core.Op{
		core.Write("RegisterScalableTarget", with(r, r.registerScalableTarget)),
		core.Read("DescribeScalableTargets", with(r, r.describeScalableTargets)),
		core.Write("DeregisterScalableTarget", with(r, r.deregisterScalableTarget)),
		core.Write("PutScalingPolicy", with(r, r.putScalingPolicy)),
		core.Read("DescribeScalingPolicies", with(r, r.describeScalingPolicies)),
		core.Write("DeleteScalingPolicy", with(r, r.deleteScalingPolicy)),
		core.Read("DescribeScalingActivities", with(r, r.describeScalingActivities)),
		core.Write("TagResource", with(r, r.tagResource)),
		core.Write("UntagResource", with(r, r.untagResource)),
		core.Read("ListTagsForResource", with(r, r.listTagsForResource)),
	}
}

// apiError is the room's error answer.
type apiError = core.APIError

func validation(msg string) error { return &apiError{Code: "ValidationException", Msg: msg} }

// with decodes the input into a fresh In and runs h under the room's lock; h's error is
// the answer.
func with[In any](r *Room, h func(q *core.Request, in *In) (any, error)) func(*core.Request) {
	return core.JSON11Op(&r.mu, r.Codes, h)
}

type in struct {
	ServiceNamespace  string            `json:"ServiceNamespace"`
	ResourceId        string            `json:"ResourceId"`
	ResourceIds       []string          `json:"ResourceIds"`
	ScalableDimension string            `json:"ScalableDimension"`
	MinCapacity       *int              `json:"MinCapacity"`
	MaxCapacity       *int              `json:"MaxCapacity"`
	RoleARN           string            `json:"RoleARN"`
	SuspendedState    *suspended        `json:"SuspendedState"`
	Tags              map[string]string `json:"Tags"`
	TagKeys           []string          `json:"TagKeys"`
	ResourceARN       string            `json:"ResourceARN"`
	PolicyName        string            `json:"PolicyName"`
	PolicyNames       []string          `json:"PolicyNames"`
	PolicyType        string            `json:"PolicyType"`
	TargetTracking    json.RawMessage   `json:"TargetTrackingScalingPolicyConfiguration"`
	StepScaling       json.RawMessage   `json:"StepScalingPolicyConfiguration"`
	MaxResults        int               `json:"MaxResults"`
	NextToken         string            `json:"NextToken"`
}

func key(region, ns, res, dim string) string { return region + "|" + ns + "|" + res + "|" + dim }

// checkECS validates namespace, dimension and resource id; it returns the cluster and
// service the resource id names.
func checkECS(ns, res, dim string) (cluster, service string, err error) {
	if ns != namespaceECS {
		return "", "", validation(fmt.Sprintf("localcloud scales ECS services only: ServiceNamespace must be ecs (got %q).", ns))
	}
	if dim != dimensionDesired {
		return "", "", validation(fmt.Sprintf("Unsupported scalable dimension %q for namespace ecs: use ecs:service:DesiredCount.", dim))
	}
	p := strings.Split(res, "/")
	if len(p) != 3 || p[0] != "service" || p[1] == "" || p[2] == "" {
		return "", "", validation(fmt.Sprintf("Unsupported resource ID %q: an ECS service is service/CLUSTER/SERVICE.", res))
	}
	return p[1], p[2], nil
}

func (r *Room) registerScalableTarget(q *core.Request, in *in) (any, error) {
	cluster, service, err := checkECS(in.ServiceNamespace, in.ResourceId, in.ScalableDimension)
	if err != nil {
		return nil, err
	}
	k := key(q.Region, in.ServiceNamespace, in.ResourceId, in.ScalableDimension)
	t := r.st.Targets[k]
	if t == nil && (in.MinCapacity == nil || in.MaxCapacity == nil) {
		return nil, validation("MinCapacity and MaxCapacity are required to register a new scalable target.")
	}
	if t == nil && r.services != nil {
		if _, ok := r.services.ServiceDesiredCount(q.Region, cluster, service); !ok {
			return nil, validation("ECS service doesn't exist: " + in.ResourceId)
		}
	}
	if t == nil {
		t = &target{ServiceNamespace: in.ServiceNamespace, ResourceId: in.ResourceId, ScalableDimension: in.ScalableDimension,
			RoleARN: serviceRole, CreationTime: float64(time.Now().UnixMilli()) / 1000,
			ScalableTargetARN: "arn:aws:application-autoscaling:" + q.Region + ":" + core.AccountID + ":scalable-target/" + core.RandomID(32),
			Tags:              map[string]string{}, Region: q.Region}
	}
	minC, maxC := t.MinCapacity, t.MaxCapacity
	if in.MinCapacity != nil {
		minC = *in.MinCapacity
	}
	if in.MaxCapacity != nil {
		maxC = *in.MaxCapacity
	}
	if minC < 0 || maxC < minC {
		return nil, validation(fmt.Sprintf("Minimum capacity (%d) cannot be greater than maximum capacity (%d), nor negative.", minC, maxC))
	}
	t.MinCapacity, t.MaxCapacity = minC, maxC
	if in.SuspendedState != nil {
		t.SuspendedState = *in.SuspendedState
	}
	for k, v := range in.Tags {
		t.Tags[k] = v
	}
	r.st.Targets[k] = t
	r.commitLocked()
	r.clamp(q.Region, cluster, service, minC, maxC)
	return map[string]any{"ScalableTargetARN": t.ScalableTargetARN}, nil
}

// clamp brings the service's desired count into [min, max], as registering a target does.
func (r *Room) clamp(region, cluster, service string, minC, maxC int) {
	if r.services == nil {
		return
	}
	d, ok := r.services.ServiceDesiredCount(region, cluster, service)
	if !ok {
		return
	}
	if want := min(max(d, minC), maxC); want != d {
		if err := r.services.SetServiceDesiredCount(region, cluster, service, want); err != nil {
			r.cloud.Logf("application-autoscaling: set desired count of %s: %v", service, err)
		}
	}
}

func (r *Room) describeScalableTargets(q *core.Request, in *in) (any, error) {
	if in.ServiceNamespace == "" {
		return nil, validation("ServiceNamespace is required.")
	}
	var list []*target
	for _, t := range r.st.Targets {
		if t.Region == q.Region && t.ServiceNamespace == in.ServiceNamespace &&
			(len(in.ResourceIds) == 0 || contains(in.ResourceIds, t.ResourceId)) &&
			(in.ScalableDimension == "" || in.ScalableDimension == t.ScalableDimension) {
			list = append(list, t)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].ResourceId < list[j].ResourceId })
	start, end, next := core.PageIndex(len(list), in.NextToken, itoa(in.MaxResults), 50)
	out := map[string]any{"ScalableTargets": apiViews(list[start:end])}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

func (r *Room) deregisterScalableTarget(q *core.Request, in *in) (any, error) {
	k := key(q.Region, in.ServiceNamespace, in.ResourceId, in.ScalableDimension)
	if r.st.Targets[k] == nil {
		return nil, notFound(in)
	}
	delete(r.st.Targets, k)
	for pk := range r.st.Policies {
		if strings.HasPrefix(pk, k+"|") {
			delete(r.st.Policies, pk)
		}
	}
	r.commitLocked()
	return map[string]any{}, nil
}

func notFound(in *in) error {
	return &apiError{Code: "ObjectNotFoundException", Msg: fmt.Sprintf("No scalable target registered for service namespace: %s, resource ID: %s, scalable dimension: %s", in.ServiceNamespace, in.ResourceId, in.ScalableDimension)}
}

// trackingConfig is what PutScalingPolicy checks of a target-tracking configuration.
type trackingConfig struct {
	TargetValue                   *float64 `json:"TargetValue"`
	PredefinedMetricSpecification *struct {
		PredefinedMetricType string `json:"PredefinedMetricType"`
		ResourceLabel        string `json:"ResourceLabel"`
	} `json:"PredefinedMetricSpecification"`
	CustomizedMetricSpecification json.RawMessage `json:"CustomizedMetricSpecification"`
}

var ecsMetrics = map[string]bool{"ECSServiceAverageCPUUtilization": true, "ECSServiceAverageMemoryUtilization": true, "ALBRequestCountPerTarget": true}

func checkTracking(raw json.RawMessage) error {
	var c trackingConfig
	if len(raw) == 0 || json.Unmarshal(raw, &c) != nil {
		return validation("TargetTrackingScalingPolicyConfiguration is required for a TargetTrackingScaling policy.")
	}
	if c.TargetValue == nil || *c.TargetValue <= 0 {
		return validation("TargetValue must be a positive number.")
	}
	pm := c.PredefinedMetricSpecification
	if pm == nil {
		if len(c.CustomizedMetricSpecification) == 0 {
			return validation("A target tracking policy needs a PredefinedMetricSpecification or a CustomizedMetricSpecification.")
		}
		return nil
	}
	if !ecsMetrics[pm.PredefinedMetricType] {
		return validation(fmt.Sprintf("Unsupported predefined metric type %q for an ECS service.", pm.PredefinedMetricType))
	}
	if pm.PredefinedMetricType == "ALBRequestCountPerTarget" {
		p := strings.Split(pm.ResourceLabel, "/")
		if len(p) != 6 || p[0] != "app" || p[3] != "targetgroup" {
			return validation("ALBRequestCountPerTarget needs ResourceLabel app/<load-balancer-name>/<id>/targetgroup/<target-group-name>/<id>.")
		}
	}
	return nil
}

func (r *Room) putScalingPolicy(q *core.Request, in *in) (any, error) {
	if _, _, err := checkECS(in.ServiceNamespace, in.ResourceId, in.ScalableDimension); err != nil {
		return nil, err
	}
	if in.PolicyName == "" || len(in.PolicyName) > 256 {
		return nil, validation("PolicyName must be 1 to 256 characters.")
	}
	k := key(q.Region, in.ServiceNamespace, in.ResourceId, in.ScalableDimension)
	if r.st.Targets[k] == nil {
		return nil, notFound(in)
	}
	switch in.PolicyType {
	case "", "StepScaling":
		if len(in.StepScaling) == 0 {
			return nil, validation("StepScalingPolicyConfiguration is required for a StepScaling policy.")
		}
		in.PolicyType = "StepScaling"
	case "TargetTrackingScaling":
		if err := checkTracking(in.TargetTracking); err != nil {
			return nil, err
		}
	default:
		return nil, validation("PolicyType must be TargetTrackingScaling or StepScaling for ECS.")
	}
	pk := k + "|" + in.PolicyName
	p := r.st.Policies[pk]
	if p == nil {
		id := core.NewRequestID()
		p = &policy{
			PolicyARN: "arn:aws:autoscaling:" + q.Region + ":" + core.AccountID + ":scalingPolicy:" + id +
				":resource/" + in.ServiceNamespace + "/" + in.ResourceId + ":policyName/" + in.PolicyName,
			PolicyName: in.PolicyName, ServiceNamespace: in.ServiceNamespace, ResourceId: in.ResourceId,
			ScalableDimension: in.ScalableDimension, CreationTime: float64(time.Now().UnixMilli()) / 1000, Region: q.Region,
		}
		r.st.Policies[pk] = p
	}
	p.PolicyType, p.TargetTrackingScalingPolicyConfiguration, p.StepScalingPolicyConfiguration = in.PolicyType, in.TargetTracking, in.StepScaling
	p.Alarms = []alarm{}
	if p.PolicyType == "TargetTrackingScaling" {
		// Target tracking makes its CloudWatch alarms (not modelled beyond their names).
		for _, hl := range []string{"AlarmHigh", "AlarmLow"} {
			name := "TargetTracking-" + in.ResourceId + "-" + hl + "-" + lastPart(p.PolicyARN, ":scalingPolicy:")[:36]
			p.Alarms = append(p.Alarms, alarm{AlarmName: name, AlarmARN: "arn:aws:cloudwatch:" + q.Region + ":" + core.AccountID + ":alarm:" + name})
		}
	}
	r.commitLocked()
	return map[string]any{"PolicyARN": p.PolicyARN, "Alarms": p.Alarms}, nil
}

func lastPart(s, sep string) string {
	if i := strings.Index(s, sep); i >= 0 {
		return s[i+len(sep):]
	}
	return s
}

func (r *Room) describeScalingPolicies(q *core.Request, in *in) (any, error) {
	if in.ServiceNamespace == "" {
		return nil, validation("ServiceNamespace is required.")
	}
	var list []*policy
	for _, p := range r.st.Policies {
		if p.Region == q.Region && p.ServiceNamespace == in.ServiceNamespace &&
			(in.ResourceId == "" || p.ResourceId == in.ResourceId) &&
			(in.ScalableDimension == "" || p.ScalableDimension == in.ScalableDimension) &&
			(len(in.PolicyNames) == 0 || contains(in.PolicyNames, p.PolicyName)) {
			list = append(list, p)
		}
	}
	sort.Slice(list, func(i, j int) bool { return list[i].PolicyARN < list[j].PolicyARN })
	start, end, next := core.PageIndex(len(list), in.NextToken, itoa(in.MaxResults), 50)
	out := map[string]any{"ScalingPolicies": apiViews(list[start:end])}
	if next != "" {
		out["NextToken"] = next
	}
	return out, nil
}

func (r *Room) deleteScalingPolicy(q *core.Request, in *in) (any, error) {
	pk := key(q.Region, in.ServiceNamespace, in.ResourceId, in.ScalableDimension) + "|" + in.PolicyName
	if r.st.Policies[pk] == nil {
		return nil, &apiError{Code: "ObjectNotFoundException", Msg: fmt.Sprintf("No scaling policy found for service namespace: %s, resource ID: %s, scalable dimension: %s, policy name: %s", in.ServiceNamespace, in.ResourceId, in.ScalableDimension, in.PolicyName)}
	}
	delete(r.st.Policies, pk)
	r.commitLocked()
	return map[string]any{}, nil
}

// describeScalingActivities answers that nothing ran: the policies are modelled only.
func (r *Room) describeScalingActivities(_ *core.Request, in *in) (any, error) {
	if in.ServiceNamespace == "" {
		return nil, validation("ServiceNamespace is required.")
	}
	return map[string]any{"ScalingActivities": []any{}}, nil
}

func (r *Room) targetByARN(arn string) (*target, error) {
	for _, t := range r.st.Targets {
		if t.ScalableTargetARN == arn {
			return t, nil
		}
	}
	return nil, &apiError{Code: "ResourceNotFoundException", Msg: "No scalable target found for ARN " + arn}
}

func (r *Room) tagResource(_ *core.Request, in *in) (any, error) {
	t, err := r.targetByARN(in.ResourceARN)
	if err != nil {
		return nil, err
	}
	for k, v := range in.Tags {
		t.Tags[k] = v
	}
	r.commitLocked()
	return map[string]any{}, nil
}

func (r *Room) untagResource(_ *core.Request, in *in) (any, error) {
	t, err := r.targetByARN(in.ResourceARN)
	if err != nil {
		return nil, err
	}
	for _, k := range in.TagKeys {
		delete(t.Tags, k)
	}
	r.commitLocked()
	return map[string]any{}, nil
}

func (r *Room) listTagsForResource(_ *core.Request, in *in) (any, error) {
	t, err := r.targetByARN(in.ResourceARN)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Tags": t.Tags}, nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// apiViews are records as the service answers them: without the room's "lc..." fields.
func apiViews[T any](recs []T) []map[string]any {
	out := []map[string]any{}
	for _, rec := range recs {
		b, _ := json.Marshal(rec)
		var m map[string]any
		_ = json.Unmarshal(b, &m)
		for k := range m {
			if strings.HasPrefix(k, "lc") {
				delete(m, k)
			}
		}
		out = append(out, m)
	}
	return out
}

func itoa(n int) string {
	if n <= 0 {
		return ""
	}
	return fmt.Sprint(n)
}
