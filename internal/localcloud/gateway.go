package localcloud

// The gateway's data-plane helpers come from internal/apigwlocal (CONTRACTS §4); these thin
// wrappers are the one place the local cloud touches them.

import (
	"net/http"

	"github.com/rudderctl/rudderctl/internal/apigwlocal"
)

const (
	gwMaxRequestBytes    = apigwlocal.MaxRequestBytes
	gwLambdaMaxPayload   = apigwlocal.LambdaMaxPayload
	gwIntegrationTimeout = apigwlocal.IntegrationTimeout
)

type gwEventContext = apigwlocal.EventContext

func gwMatchRoute(keys []string, method, path string) (string, map[string]string, bool) {
	return apigwlocal.MatchRoute(keys, method, path)
}

func gwBuildEvent(r *http.Request, body []byte, ev gwEventContext) ([]byte, error) {
	return apigwlocal.BuildEvent(r, body, ev)
}

func gwWriteResponse(w http.ResponseWriter, payload []byte) error {
	return apigwlocal.WriteResponse(w, payload)
}

func gwWriteError(w http.ResponseWriter, status int) { apigwlocal.WriteGatewayError(w, status) }
