package ecs

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"reflect"
	"sort"
	"strings"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

type serviceIn struct {
	Cluster                       string                   `json:"cluster"`
	ServiceName                   string                   `json:"serviceName"`
	Service                       string                   `json:"service"`
	Services                      []string                 `json:"services"`
	TaskDefinition                string                   `json:"taskDefinition"`
	LoadBalancers                 *[]loadBalancer          `json:"loadBalancers"`
	DesiredCount                  *int                     `json:"desiredCount"`
	LaunchType                    string                   `json:"launchType"`
	PlatformVersion               string                   `json:"platformVersion"`
	DeploymentConfiguration       *deploymentConfiguration `json:"deploymentConfiguration"`
	NetworkConfiguration          *networkConfiguration    `json:"networkConfiguration"`
	HealthCheckGracePeriodSeconds *int                     `json:"healthCheckGracePeriodSeconds"`
	SchedulingStrategy            string                   `json:"schedulingStrategy"`
	Tags                          []tag                    `json:"tags"`
	PropagateTags                 string                   `json:"propagateTags"`
	EnableECSManagedTags          bool                     `json:"enableECSManagedTags"`
	EnableExecuteCommand          *bool                    `json:"enableExecuteCommand"`
	ForceNewDeployment            bool                     `json:"forceNewDeployment"`
	Force                         bool                     `json:"force"`
	Include                       []string                 `json:"include"`
	NextToken                     string                   `json:"nextToken"`
	MaxResults                    int                      `json:"maxResults"`
}

func (r *Room) createService(q *core.Request, in *serviceIn) (any, error) {
	cl, err := r.cluster(q.Region, in.Cluster)
	if err != nil {
		return nil, err
	}
	if !validName(in.ServiceName) {
		return nil, invalidErr("serviceName can have up to 255 letters (uppercase and lowercase), numbers, hyphens, and underscores.")
	}
	arn := arnOf(q.Region, "service", cl.ClusterName+"/"+in.ServiceName)
	if old := r.st.Services[arn]; old != nil {
		switch old.Status {
		case "ACTIVE":
			return nil, invalidErr("Creation of service was not idempotent.")
		case "DRAINING":
			return nil, invalidErr("Unable to Start a service that is still Draining.")
		}
	}
	if in.LaunchType != "FARGATE" {
		return nil, invalidErr("localcloud runs FARGATE services only: set launchType FARGATE (got " + quoteOrEmpty(in.LaunchType) + ").")
	}
	if in.SchedulingStrategy != "" && in.SchedulingStrategy != "REPLICA" {
		return nil, invalidErr("Fargate services support only the REPLICA scheduling strategy.")
	}
	if in.EnableExecuteCommand != nil && *in.EnableExecuteCommand {
		return nil, invalidErr("localcloud does not support ECS Exec: enableExecuteCommand must be false.")
	}
	v, err := r.usableRevision(q.Region, in.TaskDefinition)
	if err != nil {
		return nil, err
	}
	desired := 0
	if in.DesiredCount != nil {
		desired = *in.DesiredCount
	}
	if desired < 0 {
		return nil, invalidErr("desiredCount must be 0 or more.")
	}
	dc, err := deploymentDefaults(in.DeploymentConfiguration)
	if err != nil {
		return nil, err
	}
	if err := r.checkNetwork(q.Region, v, in.NetworkConfiguration); err != nil {
		return nil, err
	}
	lbs := []loadBalancer{}
	if in.LoadBalancers != nil {
		lbs = *in.LoadBalancers
	}
	if err := r.checkLoadBalancers(v, lbs); err != nil {
		return nil, err
	}
	grace := 0
	if in.HealthCheckGracePeriodSeconds != nil {
		grace = *in.HealthCheckGracePeriodSeconds
	}
	if grace < 0 || grace > 2147483647 {
		return nil, invalidErr("healthCheckGracePeriodSeconds must be 0 or more.")
	}
	if err := checkPropagate(in.PropagateTags); err != nil {
		return nil, err
	}
	s := &serviceRec{
		ServiceArn: arn, ServiceName: in.ServiceName, ClusterArn: cl.ClusterArn, LoadBalancers: lbs,
		Status: "ACTIVE", DesiredCount: desired, LaunchType: "FARGATE", PlatformVersion: "LATEST",
		PlatformFamily: "Linux", TaskDefinition: v.arn(), DeploymentConfiguration: dc,
		Events: []serviceEvent{}, CreatedAt: now(), NetworkConfiguration: in.NetworkConfiguration,
		HealthCheckGracePeriodSeconds: grace, SchedulingStrategy: "REPLICA",
		DeploymentController: map[string]string{"type": "ECS"}, CreatedBy: "arn:aws:iam::000000000000:root",
		EnableECSManagedTags: in.EnableECSManagedTags, PropagateTags: in.PropagateTags,
		Tags: nonNilTags(in.Tags), Region: q.Region,
	}
	s.Deployments = []*deployment{newDeployment(s)}
	r.st.Services[arn] = s
	r.commitLocked()
	return map[string]any{"service": r.serviceAnswer(s, true)}, nil
}

func quoteOrEmpty(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

func checkPropagate(p string) error {
	switch p {
	case "", "NONE", "SERVICE", "TASK_DEFINITION":
		return nil
	}
	return invalidErr("propagateTags must be one of TASK_DEFINITION, SERVICE, NONE.")
}

// usableRevision finds an ACTIVE task definition a service or task can use.
func (r *Room) usableRevision(region, ref string) (*revisionRec, error) {
	if ref == "" {
		return nil, invalidErr("taskDefinition can not be blank.")
	}
	v := r.revision(region, ref)
	if v == nil {
		return nil, errTaskDefNotFoundUse
	}
	if v.Status != "ACTIVE" {
		return nil, clientErr("TaskDefinition is inactive")
	}
	return v, nil
}

func deploymentDefaults(in *deploymentConfiguration) (deploymentConfiguration, error) {
	dc := deploymentConfiguration{}
	if in != nil {
		dc = *in
	}
	if dc.MaximumPercent == nil {
		dc.MaximumPercent = ptr(200)
	}
	if dc.MinimumHealthyPercent == nil {
		dc.MinimumHealthyPercent = ptr(100)
	}
	if dc.DeploymentCircuitBreaker == nil {
		dc.DeploymentCircuitBreaker = &circuitBreaker{}
	}
	minP, maxP := *dc.MinimumHealthyPercent, *dc.MaximumPercent
	if minP < 0 || minP > 100 {
		return dc, invalidErr("minimumHealthyPercent must be between 0 and 100.")
	}
	if maxP < 100 {
		return dc, invalidErr("maximumPercent must be 100 or more for a REPLICA service.")
	}
	if minP == 100 && maxP == 100 {
		return dc, invalidErr("minimumHealthyPercent 100 with maximumPercent 100 leaves no room to replace a task: lower the minimum or raise the maximum.")
	}
	return dc, nil
}

func ptr[T any](v T) *T { return &v }

// checkNetwork checks an awsvpc network configuration against the task definition and
// (when the cloud has EC2) the subnets and security groups.
func (r *Room) checkNetwork(region string, v *revisionRec, nc *networkConfiguration) error {
	if v.view().NetworkMode != "awsvpc" {
		return invalidErr("localcloud runs awsvpc tasks only: the task definition's networkMode must be awsvpc.")
	}
	if nc == nil || nc.AwsvpcConfiguration == nil {
		return invalidErr("Network Configuration must be provided when networkMode 'awsvpc' is specified.")
	}
	vpc := nc.AwsvpcConfiguration
	if len(vpc.Subnets) == 0 {
		return invalidErr("subnets can not be empty.")
	}
	if len(vpc.Subnets) > 16 || len(vpc.SecurityGroups) > 5 {
		return invalidErr("At most 16 subnets and 5 security groups are allowed.")
	}
	switch vpc.AssignPublicIp {
	case "", "DISABLED", "ENABLED":
	default:
		return invalidErr("assignPublicIp must be ENABLED or DISABLED.")
	}
	if r.network == nil {
		return nil
	}
	vpcID := ""
	for _, sn := range vpc.Subnets {
		_, id, ok := r.network.Subnet(region, sn)
		if !ok {
			return invalidErr(fmt.Sprintf("Error retrieving subnet information for [%s]: The subnet ID '%s' does not exist (Service: AmazonEC2; Status Code: 400; Error Code: InvalidSubnetID.NotFound)", sn, sn))
		}
		if vpcID != "" && id != vpcID {
			return invalidErr("Subnets must all be in the same VPC.")
		}
		vpcID = id
	}
	for _, sg := range vpc.SecurityGroups {
		id, ok := r.network.SecurityGroupVPC(region, sg)
		if !ok {
			return invalidErr(fmt.Sprintf("Error retrieving security group information for [%s]: The security group '%s' does not exist (Service: AmazonEC2; Status Code: 400; Error Code: InvalidGroup.NotFound)", sg, sg))
		}
		if id != vpcID {
			return invalidErr("Security group " + sg + " is not in the VPC of the subnets (" + vpcID + ").")
		}
	}
	return nil
}

// checkLoadBalancers checks that each target group exists and each names a container
// port of the task definition.
func (r *Room) checkLoadBalancers(v *revisionRec, lbs []loadBalancer) error {
	if len(lbs) > 5 {
		return invalidErr("A service can have at most 5 load balancers.")
	}
	view := v.view()
	for _, lb := range lbs {
		if lb.TargetGroupArn == "" {
			return invalidErr("targetGroupArn is required (localcloud has no Classic Load Balancers).")
		}
		found := false
		for _, c := range view.ContainerDefinitions {
			if c.Name != lb.ContainerName {
				continue
			}
			for _, pm := range c.PortMappings {
				found = found || pm.ContainerPort == lb.ContainerPort
			}
		}
		if !found {
			return invalidErr(fmt.Sprintf("The container %s did not have a container port %d defined.", lb.ContainerName, lb.ContainerPort))
		}
		if r.targets == nil {
			return invalidErr("localcloud has no ELBv2 room to register targets in; run a cloud with ELBv2.")
		}
		if _, ok := r.targets.TargetGroupPort(lb.TargetGroupArn); !ok {
			return invalidErr("The target group with targetGroupArn " + lb.TargetGroupArn + " does not exist.")
		}
	}
	return nil
}

// newDeployment is a PRIMARY deployment of the service's current task definition.
func newDeployment(s *serviceRec) *deployment {
	n, _ := rand.Int(rand.Reader, big.NewInt(9e18))
	id := fmt.Sprintf("ecs-svc/%019d", n)
	t := now()
	s.Steady = false
	return &deployment{
		Id: id, Status: "PRIMARY", TaskDefinition: s.TaskDefinition, DesiredCount: s.DesiredCount,
		CreatedAt: t, UpdatedAt: t, LaunchType: "FARGATE", PlatformVersion: "1.4.0", PlatformFamily: "Linux",
		NetworkConfiguration: s.NetworkConfiguration, RolloutState: "IN_PROGRESS",
		RolloutStateReason: "ECS deployment " + id + " in progress.",
	}
}

// service finds a service of a cluster by name or ARN.
func (r *Room) service(region, cluster, ref string) (*serviceRec, error) {
	cl, err := r.cluster(region, cluster)
	if err != nil {
		return nil, err
	}
	s := r.st.Services[arnOf(region, "service", cl.ClusterName+"/"+lastPart(ref))]
	if s == nil || s.Status == "INACTIVE" {
		return nil, errServiceNotFound
	}
	return s, nil
}

func (r *Room) updateService(q *core.Request, in *serviceIn) (any, error) {
	s, err := r.service(q.Region, in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	if s.Status != "ACTIVE" {
		return nil, errServiceNotActive
	}
	if in.EnableExecuteCommand != nil && *in.EnableExecuteCommand {
		return nil, invalidErr("localcloud does not support ECS Exec: enableExecuteCommand must be false.")
	}
	if in.DesiredCount != nil && *in.DesiredCount < 0 {
		return nil, invalidErr("desiredCount must be 0 or more.")
	}
	taskDef := s.TaskDefinition
	v := r.revisionByARN(taskDef)
	if in.TaskDefinition != "" {
		if v, err = r.usableRevision(q.Region, in.TaskDefinition); err != nil {
			return nil, err
		}
		taskDef = v.arn()
	}
	dc, err := mergeDeploymentConfig(s.DeploymentConfiguration, in.DeploymentConfiguration)
	if err != nil {
		return nil, err
	}
	nc := s.NetworkConfiguration
	if in.NetworkConfiguration != nil {
		nc = in.NetworkConfiguration
	}
	if err := r.checkNetwork(q.Region, v, nc); err != nil {
		return nil, err
	}
	lbs := s.LoadBalancers
	if in.LoadBalancers != nil {
		lbs = *in.LoadBalancers
	}
	if err := r.checkLoadBalancers(v, lbs); err != nil {
		return nil, err
	}
	if err := checkPropagate(in.PropagateTags); err != nil {
		return nil, err
	}
	redeploy := in.ForceNewDeployment || taskDef != s.TaskDefinition ||
		!reflect.DeepEqual(nc, s.NetworkConfiguration) || !reflect.DeepEqual(lbs, s.LoadBalancers)
	s.TaskDefinition, s.DeploymentConfiguration, s.NetworkConfiguration, s.LoadBalancers = taskDef, dc, nc, lbs
	if in.DesiredCount != nil && *in.DesiredCount != s.DesiredCount {
		s.DesiredCount = *in.DesiredCount
		s.Steady = false
	}
	if in.HealthCheckGracePeriodSeconds != nil {
		s.HealthCheckGracePeriodSeconds = *in.HealthCheckGracePeriodSeconds
	}
	if in.PropagateTags != "" {
		s.PropagateTags = in.PropagateTags
	}
	if redeploy {
		for _, d := range s.Deployments {
			if d.Status == "PRIMARY" {
				d.Status, d.UpdatedAt = "ACTIVE", now()
			}
		}
		s.Deployments = append([]*deployment{newDeployment(s)}, s.Deployments...)
	} else if p := s.primary(); p != nil {
		// A new desired count alone changes the primary deployment, as ECS does.
		p.DesiredCount, p.UpdatedAt = s.DesiredCount, now()
	}
	r.commitLocked()
	return map[string]any{"service": r.serviceAnswer(s, false)}, nil
}

// mergeDeploymentConfig applies UpdateService's deploymentConfiguration: the fields it
// gives replace the service's.
func mergeDeploymentConfig(have deploymentConfiguration, in *deploymentConfiguration) (deploymentConfiguration, error) {
	if in == nil {
		return have, nil
	}
	merged := *in
	if merged.MaximumPercent == nil {
		merged.MaximumPercent = have.MaximumPercent
	}
	if merged.MinimumHealthyPercent == nil {
		merged.MinimumHealthyPercent = have.MinimumHealthyPercent
	}
	if merged.DeploymentCircuitBreaker == nil {
		merged.DeploymentCircuitBreaker = have.DeploymentCircuitBreaker
	}
	return deploymentDefaults(&merged)
}

// serviceAnswer is the Service shape with the counts of its tasks now.
func (r *Room) serviceAnswer(s *serviceRec, withTags bool) map[string]any {
	out := *s
	out.Deployments = nil
	out.RunningCount, out.PendingCount = 0, 0
	counts := map[string][2]int{}
	for _, t := range r.st.Tasks {
		if t.Service != s.ServiceArn {
			continue
		}
		c := counts[t.DeploymentID]
		switch t.LastStatus {
		case "RUNNING":
			c[0]++
			out.RunningCount++
		case "PROVISIONING", "PENDING", "ACTIVATING":
			c[1]++
			out.PendingCount++
		}
		counts[t.DeploymentID] = c
	}
	for _, d := range s.Deployments {
		dd := *d
		dd.RunningCount, dd.PendingCount = counts[d.Id][0], counts[d.Id][1]
		out.Deployments = append(out.Deployments, &dd)
	}
	if out.Deployments == nil {
		out.Deployments = []*deployment{}
	}
	if !withTags {
		out.Tags = nil
	}
	return apiView(out)
}

func (r *Room) describeServices(q *core.Request, in *serviceIn) (any, error) {
	cl, err := r.cluster(q.Region, in.Cluster)
	if err != nil {
		return nil, err
	}
	if len(in.Services) == 0 || len(in.Services) > 10 {
		return nil, invalidErr("services must name 1 to 10 services.")
	}
	withTags := contains(in.Include, "TAGS")
	services, failures := []any{}, []any{}
	for _, ref := range in.Services {
		arn := arnOf(q.Region, "service", cl.ClusterName+"/"+lastPart(ref))
		if s := r.st.Services[arn]; s != nil {
			services = append(services, r.serviceAnswer(s, withTags))
		} else {
			failures = append(failures, map[string]any{"arn": arn, "reason": "MISSING"})
		}
	}
	return map[string]any{"services": services, "failures": failures}, nil
}

func (r *Room) deleteService(q *core.Request, in *serviceIn) (any, error) {
	s, err := r.service(q.Region, in.Cluster, in.Service)
	if err != nil {
		return nil, err
	}
	if s.Status == "ACTIVE" {
		if s.DesiredCount > 0 && !in.Force {
			return nil, invalidErr("The service cannot be stopped while it is scaled above 0.")
		}
		s.Status, s.DesiredCount, s.Steady = "DRAINING", 0, false
		r.commitLocked()
	}
	return map[string]any{"service": r.serviceAnswer(s, false)}, nil
}

func (r *Room) listServices(q *core.Request, in *serviceIn) (any, error) {
	cl, err := r.cluster(q.Region, in.Cluster)
	if err != nil {
		return nil, err
	}
	var arns []string
	for arn, s := range r.st.Services {
		if s.ClusterArn == cl.ClusterArn && s.Status != "INACTIVE" && (in.LaunchType == "" || in.LaunchType == s.LaunchType) {
			arns = append(arns, arn)
		}
	}
	sort.Strings(arns)
	items, next := page(arns, in.NextToken, in.MaxResults, 10)
	return listAnswer("serviceArns", items, next), nil
}

// eventLocked adds a service event (newest first, 100 kept).
func (s *serviceRec) eventLocked(format string, args ...any) {
	msg := "(service " + s.ServiceName + ") " + fmt.Sprintf(format, args...)
	ev := serviceEvent{Id: core.NewRequestID(), CreatedAt: now(), Message: msg}
	s.Events = append([]serviceEvent{ev}, s.Events...)
	if len(s.Events) > 100 {
		s.Events = s.Events[:100]
	}
}

func taskList(ids []string) string {
	parts := make([]string, len(ids))
	for i, id := range ids {
		parts[i] = "(task " + id + ")"
	}
	return strings.Join(parts, " ")
}

// ServiceDesiredCount is core.ScalableServices for Application Auto Scaling.
func (r *Room) ServiceDesiredCount(region, cluster, service string) (int, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, err := r.service(region, cluster, service)
	if err != nil || s.Status != "ACTIVE" {
		return 0, false
	}
	return s.DesiredCount, true
}

// SetServiceDesiredCount changes a service's desired count (its primary deployment's too),
// as Application Auto Scaling's scaling activities do.
func (r *Room) SetServiceDesiredCount(region, cluster, service string, desired int) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	s, err := r.service(region, cluster, service)
	if err != nil {
		return err
	}
	if s.Status != "ACTIVE" {
		return errServiceNotActive
	}
	if s.DesiredCount == desired {
		return nil
	}
	s.DesiredCount, s.Steady = desired, false
	if p := s.primary(); p != nil {
		p.DesiredCount, p.UpdatedAt = desired, now()
	}
	r.commitLocked()
	return nil
}

// SecurityGroupInUse is core.SecurityGroupUsers: a service or a task that is not stopped
// holds its security groups (EC2 refuses to delete them).
func (r *Room) SecurityGroupInUse(region, groupID string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	uses := func(nc *networkConfiguration) bool {
		return nc != nil && nc.AwsvpcConfiguration != nil && contains(nc.AwsvpcConfiguration.SecurityGroups, groupID)
	}
	for _, arn := range sortedKeys(r.st.Services) {
		if s := r.st.Services[arn]; s.Region == region && s.Status != "INACTIVE" && uses(s.NetworkConfiguration) {
			return "ECS service " + arn
		}
	}
	for _, arn := range sortedKeys(r.st.Tasks) {
		if t := r.st.Tasks[arn]; t.Region == region && t.LastStatus != "STOPPED" && uses(t.Network) {
			return "ECS task " + arn
		}
	}
	return ""
}
