package transformer

import (
	"context"
	"errors"

	"github.com/rudderctl/rudderctl/internal/awsapi"
	"github.com/rudderctl/rudderctl/internal/deploy/engine"
)

// The API's stage $default, with auto-deploy.

func (p *apiPlan) stage() {
	var stage *Stage
	for i := range p.o.Stages {
		if p.o.Stages[i].Name == StageName {
			stage = &p.o.Stages[i]
		}
	}
	switch {
	case stage == nil:
		p.add(Change{Action: CreateStage, Resource: "API stage", Name: StageName, Reason: "missing", API: p.apiID})
	case !stage.AutoDeploy:
		p.add(Change{Action: UpdateStage, Resource: "API stage", Name: StageName, Reason: "auto-deploy off", API: p.apiID})
	}
}

// stageKind creates $default, turns its auto-deploy on, and deletes stages (by name, in
// the change's Target).
type stageKind struct{ *run }

func (k stageKind) Actions() []engine.Action {
	return []engine.Action{CreateStage, UpdateStage, DeleteStage}
}

func (k stageKind) Create(ctx context.Context, ch Change) error {
	return k.c.APIGateway().CreateStage(ctx, k.apiID(ch), StageName, true, k.d.Tags())
}

func (k stageKind) AlreadyExists(err error) bool { return errors.Is(err, awsapi.ErrAlreadyExists) }

func (k stageKind) Adopt(context.Context, Change) error { return nil }

func (k stageKind) Update(ctx context.Context, ch Change) error {
	return k.c.APIGateway().UpdateStage(ctx, k.apiID(ch), StageName, true)
}

func (k stageKind) Delete(ctx context.Context, ch Change) error {
	return k.c.APIGateway().DeleteStage(ctx, k.apiID(ch), ch.Target)
}

// findStages lists the stages of API id.
func findStages(ctx context.Context, c *awsapi.Session, id string) ([]Stage, error) {
	found, err := c.APIGateway().Stages(ctx, id)
	if err != nil {
		return nil, awsapi.Explain("list the stages of API "+id, err)
	}
	var ss []Stage
	for _, st := range found {
		ss = append(ss, Stage{Name: st.Name, AutoDeploy: st.AutoDeploy})
	}
	return ss, nil
}
