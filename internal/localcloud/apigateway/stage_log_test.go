package apigateway

import "testing"

func TestLoggedPathHidesRoutePrefix(t *testing.T) {
	cases := []struct {
		plan stagePlan
		want string
	}{
		{stagePlan{}, "(no route)"},
		{stagePlan{routeKey: "ANY /s3cr3t/{proxy+}", params: map[string]string{"proxy": "v0/destinations/webhook"}}, "…/v0/destinations/webhook"},
		{stagePlan{routeKey: "ANY /s3cr3t"}, "…"},
		{stagePlan{routeKey: "GET /users/{id}", params: map[string]string{"id": "42"}}, "…"},
	}
	for _, c := range cases {
		if got := loggedPath(c.plan); got != c.want {
			t.Errorf("loggedPath(%q, %v) = %q, want %q", c.plan.routeKey, c.plan.params, got, c.want)
		}
	}
}
