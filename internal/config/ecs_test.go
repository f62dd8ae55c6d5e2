package config

import (
	"strings"
	"testing"
)

func TestResolveECSDefaults(t *testing.T) {
	f, err := Parse([]byte("ecs:\n"), "x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	s, err := f.ResolveECS()
	if err != nil {
		t.Fatal(err)
	}
	if s.ImageRef() != DefaultECSImage+":"+DefaultECSTag || s.CPU != 1024 || s.Memory != 2048 || s.Desired != 2 || s.ListenerPort != 80 || s.Metric != "cpu" || s.Target != 60 {
		t.Fatalf("defaults %+v", s)
	}
}

// Every bad value is refused with its key named and what to do.
func TestResolveECSRefuses(t *testing.T) {
	cases := map[string]string{
		"ecs:\n  cpu: 300\n":                                        "ecs.cpu 300 refused",
		"ecs:\n  cpu: 256\n  memory: 4096\n":                        "ecs.memory 4096 MB refused",
		"ecs:\n  cpu: 1024\n  memory: 2500\n":                       "steps of 1024",
		"ecs:\n  tag: latest\n":                                     "moving tag",
		"ecs:\n  tag: ut-latest\n":                                  "moving tag",
		"ecs:\n  image: Rudder/UPPER\n":                             "ecs.image",
		"ecs:\n  tag: 'a b'\n":                                      "ecs.tag",
		"ecs:\n  min_count: 0\n":                                    "ecs.min_count 0",
		"ecs:\n  min_count: 3\n  max_count: 2\n":                    "above ecs.max_count",
		"ecs:\n  desired_count: 9\n":                                "ecs.desired_count 9",
		"ecs:\n  max_count: 1000\n":                                 "caps a service",
		"ecs:\n  scaling:\n    metric: memory\n":                    "ecs.scaling.metric",
		"ecs:\n  scaling:\n    target: 95\n":                        "ecs.scaling.target 95",
		"ecs:\n  deregistration_delay: 4000\n":                      "ecs.deregistration_delay",
		"ecs:\n  listener_port: 70000\n":                            "ecs.listener_port",
		"ecs:\n  vpc: vpc-1\n":                                      "ecs.vpc",
		"ecs:\n  vpc: vpc-0123abcd\n  subnets: [subnet-0123abcd]\n": "at least 2",
		"ecs:\n  subnets: [subnet-0123abcd, subnet-0123abce]\n":     "without ecs.vpc",
		"ecs:\n  environment:\n    CONFIG_BACKEND_URL: x\n":         "sets it itself",
		"ecs:\n  environment:\n    1X: x\n":                         "refused",
		"ecs:\n  log_retention_days: 2\n":                           "log_retention_days 2",
		"ecs:\n  cpus: 2\n":                                         `unknown key "cpus"`,
		"ecs:\n  cpu:\n":                                            "has no value",
	}
	for doc, want := range cases {
		f, err := Parse([]byte(doc), "x.yaml")
		if err == nil {
			_, err = f.ResolveECS()
		}
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%q: got %v, want %q", doc, err, want)
		}
	}
}
