package transformer

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"

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
	_, err := k.c.APIGateway.CreateStage(ctx, &apigatewayv2.CreateStageInput{ApiId: k.apiID(ch), StageName: aws.String(StageName), AutoDeploy: aws.Bool(true), Tags: k.d.Tags()})
	return err
}

func (k stageKind) AlreadyExists(err error) bool { return awsapi.IsCode(err, "ConflictException") }

func (k stageKind) Adopt(context.Context, Change) error { return nil }

func (k stageKind) Update(ctx context.Context, ch Change) error {
	_, err := k.c.APIGateway.UpdateStage(ctx, &apigatewayv2.UpdateStageInput{ApiId: k.apiID(ch), StageName: aws.String(StageName), AutoDeploy: aws.Bool(true)})
	return err
}

func (k stageKind) Delete(ctx context.Context, ch Change) error {
	_, err := k.c.APIGateway.DeleteStage(ctx, &apigatewayv2.DeleteStageInput{ApiId: k.apiID(ch), StageName: aws.String(ch.Target)})
	return err
}

// findStages lists the stages of API id.
func findStages(ctx context.Context, c *awsapi.Clients, id string) ([]Stage, error) {
	var ss []Stage
	var token *string
	for {
		out, err := c.APIGateway.GetStages(ctx, &apigatewayv2.GetStagesInput{ApiId: aws.String(id), NextToken: token})
		if err != nil {
			return nil, awsapi.Explain("list the stages of API "+id, err)
		}
		for _, s := range out.Items {
			ss = append(ss, Stage{Name: aws.ToString(s.StageName), AutoDeploy: aws.ToBool(s.AutoDeploy)})
		}
		if aws.ToString(out.NextToken) == "" {
			return ss, nil
		}
		token = out.NextToken
	}
}
