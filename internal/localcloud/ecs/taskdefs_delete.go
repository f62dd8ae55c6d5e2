package ecs

import "github.com/rudderctl/rudderctl/internal/localcloud/core"

// DeleteTaskDefinitions (added by the deploy side, which destroys a stack's revisions): an
// INACTIVE revision becomes DELETE_IN_PROGRESS, which no list shows any more; an ACTIVE one
// or an unknown one is a failure, as in ECS.
type deleteTaskDefsIn struct {
	TaskDefinitions []string `json:"taskDefinitions"`
}

func (r *Room) deleteTaskDefinitions(q *core.Request, in *deleteTaskDefsIn) (any, error) {
	defs, failures := []any{}, []any{}
	for _, ref := range in.TaskDefinitions {
		v := r.revision(q.Region, ref)
		switch {
		case v == nil:
			failures = append(failures, map[string]any{"arn": ref, "reason": "TASK_DEFINITION_MISSING", "detail": "The specified task definition does not exist."})
		case v.Status == "ACTIVE":
			failures = append(failures, map[string]any{"arn": ref, "reason": "TASK_DEFINITION_ACTIVE", "detail": "The task definition must be INACTIVE: deregister it first."})
		default:
			if v.Status == "INACTIVE" {
				v.Status = "DELETE_IN_PROGRESS"
				r.commitLocked()
			}
			defs = append(defs, v.answer())
		}
	}
	return map[string]any{"taskDefinitions": defs, "failures": failures}, nil
}
