package config

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// ECS is the `ecs:` section: the user-functions transformer as a Fargate service behind
// an internal ALB (`rudderctl deploy transformer --ecs`, docs/ECS.md). Numbers are
// pointers for the same reason as Transformer's: a key left out differs from a 0.
type ECS struct {
	Image               string            `yaml:"image"`
	Tag                 string            `yaml:"tag"`
	CPU                 *int64            `yaml:"cpu"`
	Memory              *int64            `yaml:"memory"`
	DesiredCount        *int64            `yaml:"desired_count"`
	MinCount            *int64            `yaml:"min_count"`
	MaxCount            *int64            `yaml:"max_count"`
	Scaling             ECSScaling        `yaml:"scaling"`
	DeregistrationDelay *int64            `yaml:"deregistration_delay"`
	FunctionTimeoutMs   *int64            `yaml:"function_timeout_ms"`
	HealthGracePeriod   *int64            `yaml:"health_check_grace_period"`
	VPC                 string            `yaml:"vpc"`
	Subnets             []string          `yaml:"subnets"`
	ListenerPort        *int64            `yaml:"listener_port"`
	LogRetentionDays    *int64            `yaml:"log_retention_days"`
	Environment         map[string]string `yaml:"environment"`
}

// ECSScaling is `ecs.scaling:`: target tracking on CPU or on requests per target.
type ECSScaling struct {
	Metric string `yaml:"metric"` // cpu | requests
	Target *int64 `yaml:"target"` // percent for cpu, requests per target per minute for requests
}

// Defaults of the `ecs:` section.
const (
	// DefaultECSImage is the upstream user-functions image (Docker Hub); DefaultECSTag is
	// pinned: a deploy never follows a moving tag such as ut-latest.
	DefaultECSImage        = "rudderstack/rudder-transformer"
	DefaultECSTag          = "ut-1.145.0"
	DefaultECSCPU          = 1024
	DefaultECSMemory       = 2048
	DefaultECSDesired      = 2
	DefaultECSMin          = 2
	DefaultECSMax          = 6
	DefaultECSMetric       = "cpu"
	DefaultECSCPUTarget    = 60
	DefaultECSReqTarget    = 1000
	DefaultFunctionTimeout = 4000 // ms: rudder-transformer's IVM_EXECUTION_TIMEOUT default
	// DefaultDeregistrationDelay is how long the ALB lets a draining task finish its
	// requests. A /customTransform batch runs each event's function for up to the
	// function timeout; rudder-server sends batches of up to 200 events to one request, so
	// the longest request is minutes in theory, but the ones in flight at a deploy are short:
	// 60 s covers a batch of slow functions without holding rolling updates for 5 minutes
	// (ELBv2's default of 300 s).
	DefaultDeregistrationDelay = 60
	DefaultGracePeriod         = 60
	DefaultListenerPort        = 80
	MaxECSTasks                = 100
)

// ECSSettings is the `ecs:` section resolved: defaults applied, every value checked.
type ECSSettings struct {
	Image, Tag          string
	CPU, Memory         int32
	Desired, Min, Max   int32
	Metric              string
	Target              int32
	DeregistrationDelay int32
	FunctionTimeoutMs   int32
	GracePeriod         int32
	VPC                 string
	Subnets             []string
	ListenerPort        int32
	LogRetention        int32
	Env                 map[string]string
}

// ImageRef is image:tag.
func (s ECSSettings) ImageRef() string { return s.Image + ":" + s.Tag }

// fargateMemory are the memory sizes (MB) Fargate accepts for each CPU size (units).
var fargateMemory = map[int64][2]int64{256: {512, 2048}, 512: {1024, 4096}, 1024: {2048, 8192}, 2048: {4096, 16384}, 4096: {8192, 30720}, 8192: {16384, 61440}, 16384: {32768, 122880}}

var (
	imageRe  = regexp.MustCompile(`^[a-z0-9]+([._/-][a-z0-9]+)*(:[0-9]+)?(/[a-z0-9]+([._-][a-z0-9]+)*)*$`)
	tagRe    = regexp.MustCompile(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)
	vpcRe    = regexp.MustCompile(`^vpc-[0-9a-f]{8,17}$`)
	subnetRe = regexp.MustCompile(`^subnet-[0-9a-f]{8,17}$`)
)

// ECSKeysReserved are the container variables rudderctl sets itself.
var ECSKeysReserved = []string{"PORT", "CONFIG_BACKEND_URL", "NODE_OPTIONS", "ISOLATE_VM_MEMORY", "IVM_EXECUTION_TIMEOUT", "CLUSTER_ENABLED", "HOST"}

// ResolveECS applies the defaults to the `ecs:` section and checks every value.
func (f *File) ResolveECS() (ECSSettings, error) {
	e := f.ECS
	num := func(p *int64, def int64) int64 {
		if p != nil {
			return *p
		}
		return def
	}
	s := ECSSettings{Image: e.Image, Tag: e.Tag, VPC: e.VPC, Subnets: append([]string(nil), e.Subnets...), Metric: e.Scaling.Metric, Env: map[string]string{}}
	if s.Image == "" {
		s.Image = DefaultECSImage
	}
	if s.Tag == "" {
		s.Tag = DefaultECSTag
	}
	if s.Metric == "" {
		s.Metric = DefaultECSMetric
	}
	for k, v := range e.Environment {
		s.Env[k] = v
	}
	cpu, mem := num(e.CPU, DefaultECSCPU), num(e.Memory, DefaultECSMemory)
	desired, lo, hi := num(e.DesiredCount, DefaultECSDesired), num(e.MinCount, DefaultECSMin), num(e.MaxCount, DefaultECSMax)
	defTarget := int64(DefaultECSCPUTarget)
	if s.Metric == "requests" {
		defTarget = DefaultECSReqTarget
	}
	target := num(e.Scaling.Target, defTarget)
	dereg, timeout, grace := num(e.DeregistrationDelay, DefaultDeregistrationDelay), num(e.FunctionTimeoutMs, DefaultFunctionTimeout), num(e.HealthGracePeriod, DefaultGracePeriod)
	port, retention := num(e.ListenerPort, DefaultListenerPort), num(e.LogRetentionDays, DefaultLogRetention)
	checks := []error{
		checkImage(s.Image, s.Tag), checkFargate(cpu, mem),
		checkCounts(desired, lo, hi), checkScaling(s.Metric, target),
		inRange("ecs.deregistration_delay", dereg, 0, 3600, "seconds (ELBv2 accepts 0..3600)"),
		inRange("ecs.function_timeout_ms", timeout, 100, 600000, "milliseconds"),
		inRange("ecs.health_check_grace_period", grace, 0, 2147483647, "seconds"),
		inRange("ecs.listener_port", port, 1, 65535, "(a TCP port)"),
		ValidateRetention(retention), checkNetwork(s.VPC, s.Subnets), checkEnv("ecs", s.Env, ECSKeysReserved, "(%s are sized from the task or point at the stack)"),
	}
	for _, err := range checks {
		if err != nil {
			return ECSSettings{}, err
		}
	}
	s.CPU, s.Memory, s.Desired, s.Min, s.Max, s.Target = int32(cpu), int32(mem), int32(desired), int32(lo), int32(hi), int32(target)
	s.DeregistrationDelay, s.FunctionTimeoutMs, s.GracePeriod, s.ListenerPort, s.LogRetention = int32(dereg), int32(timeout), int32(grace), int32(port), int32(retention)
	sort.Strings(s.Subnets)
	return s, nil
}

func inRange(key string, v, lo, hi int64, unit string) error {
	if v < lo || v > hi {
		return fmt.Errorf("%s %d refused: it must be %d..%d %s; fix it in rudderctl.yaml", key, v, lo, hi, unit)
	}
	return nil
}

func checkImage(image, tag string) error {
	if !imageRe.MatchString(image) || strings.Contains(image, "@") {
		return fmt.Errorf("ecs.image %q refused: it is not an image repository (e.g. rudderstack/rudder-transformer); give the repository in ecs.image and the tag in ecs.tag", image)
	}
	if !tagRe.MatchString(tag) {
		return fmt.Errorf("ecs.tag %q refused: an image tag is 1-128 of A-Z a-z 0-9 _ . - (not starting with . or -); pin a version such as %s", tag, DefaultECSTag)
	}
	if tag == "latest" || strings.HasSuffix(tag, "-latest") {
		return fmt.Errorf("ecs.tag %q refused: a moving tag would let two tasks of one service run different code and make a redeploy unable to tell what changed; pin a version such as %s", tag, DefaultECSTag)
	}
	return nil
}

func checkFargate(cpu, mem int64) error {
	r, ok := fargateMemory[cpu]
	if !ok {
		return fmt.Errorf("ecs.cpu %d refused: Fargate accepts 256, 512, 1024, 2048, 4096, 8192 or 16384 CPU units (1024 = 1 vCPU); pick one", cpu)
	}
	step := int64(1024)
	switch cpu {
	case 256:
		if mem == 512 {
			return nil
		}
	case 8192:
		step = 4096
	case 16384:
		step = 8192
	}
	if mem < r[0] || mem > r[1] || mem%step != 0 {
		return fmt.Errorf("ecs.memory %d MB refused: with ecs.cpu %d Fargate accepts %d..%d MB in steps of %d; change ecs.memory (or ecs.cpu)", mem, cpu, r[0], r[1], step)
	}
	return nil
}

func checkCounts(desired, lo, hi int64) error {
	switch {
	case lo < 1:
		return fmt.Errorf("ecs.min_count %d refused: the service needs at least 1 task to answer USER_TRANSFORM_URL; set ecs.min_count to 1 or more (2 keeps serving while one task is replaced)", lo)
	case hi > MaxECSTasks:
		return fmt.Errorf("ecs.max_count %d refused: rudderctl caps a service at %d tasks; lower ecs.max_count", hi, MaxECSTasks)
	case lo > hi:
		return fmt.Errorf("ecs.min_count %d refused: it is above ecs.max_count %d; make min_count <= max_count", lo, hi)
	case desired < lo || desired > hi:
		return fmt.Errorf("ecs.desired_count %d refused: it must be within ecs.min_count..ecs.max_count (%d..%d), where auto scaling keeps it; fix desired_count or the bounds", desired, lo, hi)
	}
	return nil
}

func checkScaling(metric string, target int64) error {
	switch metric {
	case "cpu":
		return inRange("ecs.scaling.target", target, 10, 90, "percent of CPU (target tracking on ECSServiceAverageCPUUtilization)")
	case "requests":
		return inRange("ecs.scaling.target", target, 1, 1000000, "requests per target per minute (ALBRequestCountPerTarget)")
	}
	return fmt.Errorf("ecs.scaling.metric %q refused: it must be cpu (average CPU of the service) or requests (ALB requests per target); pick one", metric)
}

func checkNetwork(vpc string, subnets []string) error {
	if vpc != "" && !vpcRe.MatchString(vpc) {
		return fmt.Errorf("ecs.vpc %q refused: it is not a VPC id (vpc-0123abcd...); fix it, or remove it to use the region's default VPC", vpc)
	}
	seen := map[string]bool{}
	for _, s := range subnets {
		if !subnetRe.MatchString(s) {
			return fmt.Errorf("ecs.subnets: %q refused: it is not a subnet id (subnet-0123abcd...); fix it", s)
		}
		if seen[s] {
			return fmt.Errorf("ecs.subnets: %s is listed twice; list each subnet once", s)
		}
		seen[s] = true
	}
	if len(subnets) == 1 {
		return fmt.Errorf("ecs.subnets refused: an application load balancer needs subnets in at least 2 availability zones, and only 1 is listed; list 2 or more, or remove ecs.subnets to use the VPC's default subnets")
	}
	if len(subnets) > 0 && vpc == "" {
		return fmt.Errorf("ecs.subnets refused without ecs.vpc: the security groups are made in the subnets' VPC, which must be named; set ecs.vpc")
	}
	return nil
}

// checkEnv checks the extra environment of a section (ecs, nodes): valid names, none of
// reserved, which rudderctl sets itself (why: how, a format given the reserved names).
func checkEnv(section string, env map[string]string, reserved []string, why string) error {
	keys := make([]string, 0, len(env))
	for k := range env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if !envKeyRe.MatchString(k) {
			return fmt.Errorf("%s.environment: variable %q refused: keys must start with a letter, be at least 2 characters and contain only letters, digits and '_'; rename it", section, k)
		}
		if contains(reserved, k) {
			return fmt.Errorf("%s.environment: variable %s refused: rudderctl sets it itself %s; remove it", section, k, fmt.Sprintf(why, strings.Join(reserved, ", ")))
		}
	}
	return nil
}
