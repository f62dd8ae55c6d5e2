package ecsapi

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
)

// RestartService starts a new deployment of the service's current revision (its tasks are
// replaced as its deployment configuration says): after a rollout that failed.
func (c *Client) RestartService(ctx context.Context, cluster, name string) error {
	_, err := c.sdk.UpdateService(ctx, &ecs.UpdateServiceInput{Cluster: aws.String(cluster), Service: aws.String(name), ForceNewDeployment: true})
	return wrap("restart ECS service "+name, err)
}
