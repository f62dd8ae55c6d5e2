package kinds

import (
	"reflect"
	"slices"
	"strings"

	"github.com/rudderctl/rudderctl/internal/awsapi/ecsapi"
)

// SameTaskDef compares two task definitions in what rudderctl sets (tags aside; empty
// and missing lists alike; containers in any order). It normalises the containers of both
// in place (a diff made after it sees them so).
func SameTaskDef(a, b ecsapi.TaskDefSpec) bool {
	a.Tags, b.Tags = nil, nil
	norm := func(s *ecsapi.TaskDefSpec) {
		for k := range s.Containers {
			c := &s.Containers[k]
			if len(c.Env) == 0 {
				c.Env = nil
			}
			if len(c.Secrets) == 0 {
				c.Secrets = nil
			}
			if len(c.Command) == 0 {
				c.Command = nil
			}
		}
		slices.SortFunc(s.Containers, func(x, y ecsapi.ContainerSpec) int { return strings.Compare(x.Name, y.Name) })
	}
	norm(&a)
	norm(&b)
	return reflect.DeepEqual(a, b)
}

// Revision is a task definition revision's family:number, from its ARN.
func Revision(arn string) string { return arn[strings.LastIndex(arn, "/")+1:] }
