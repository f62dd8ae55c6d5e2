package localcloud

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// TestCallsOrdered checks that Calls lists the answered calls in arrival order, marks the
// mutating ones, serves the same over the admin endpoint and empties on ResetStats.
func TestCallsOrdered(t *testing.T) {
	c := startCloud(t, Options{})
	cl := sdk(c, false)
	ctx := context.Background()
	c.ResetStats()
	_, err := cl.sts.GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	must(t, err)
	mkRole(t, cl, "order-role")
	_, err = cl.iam.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String("order-role")})
	must(t, err)
	_, err = cl.iam.DeleteRole(ctx, &iam.DeleteRoleInput{RoleName: aws.String("order-role")})
	must(t, err)

	want := []Call{{Op: "sts:GetCallerIdentity"}, {Op: "iam:CreateRole", Mutating: true}, {Op: "iam:GetRole"}, {Op: "iam:DeleteRole", Mutating: true}}
	got := c.Calls()
	if !reflect.DeepEqual(got.Calls, want) || got.Dropped != 0 {
		t.Fatalf("Calls() = %+v, want %+v", got, want)
	}
	resp, err := http.Get(c.Endpoint() + "/_localcloud/calls")
	must(t, err)
	defer resp.Body.Close()
	var overHTTP CallLog
	must(t, json.NewDecoder(resp.Body).Decode(&overHTTP))
	if !reflect.DeepEqual(overHTTP.Calls, want) {
		t.Fatalf("GET /_localcloud/calls = %+v, want %+v", overHTTP, want)
	}
	c.ResetStats()
	if got := c.Calls(); len(got.Calls) != 0 {
		t.Fatalf("after ResetStats: %+v", got)
	}
}
