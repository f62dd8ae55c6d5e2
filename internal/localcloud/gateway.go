package localcloud

// The gateway's data-plane helpers. internal/apigwlocal owns the canonical versions
// (CONTRACTS §4); these small stand-ins keep the local cloud independent of it until it
// lands, and are the single place to switch over.

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

const (
	gwMaxRequestBytes     = 10 << 20
	gwLambdaMaxPayload    = 6 * 1024 * 1024
	gwIntegrationTimeout  = 30 * time.Second
	gwNotFoundBody        = `{"message":"Not Found"}`
	gwTooLargeBody        = `{"message":"Request Entity Too Large"}`
	gwInternalErrorBody   = `{"message":"Internal Server Error"}`
	gwServiceUnavailBody  = `{"message":"Service Unavailable"}`
	gwDefaultRouteKey     = "$default"
	gwGreedySuffix        = "+}"
	gwRouteScoreGreedy    = 1
	gwRouteScoreParam     = 2
	gwRouteScoreLiteral   = 3
	gwRouteMethodExact    = 1
	gwRouteSegmentWeights = 10
)

// gwEventContext mirrors apigwlocal.EventContext.
type gwEventContext struct {
	RouteKey, Stage, APIID, RequestID, AccountID string
	PathParameters                               map[string]string
}

// gwMatchRoute picks the most specific route key for method+path: exact method over ANY,
// literal segments over {param}, {param} over {greedy+}, and "$default" last.
func gwMatchRoute(keys []string, method, path string) (string, map[string]string, bool) {
	best, bestScore := "", -1
	var bestParams map[string]string
	segs := strings.Split(strings.TrimPrefix(path, "/"), "/")
	for _, k := range keys {
		if k == gwDefaultRouteKey {
			continue
		}
		m, p, ok := strings.Cut(k, " ")
		if !ok || (m != "ANY" && m != method) {
			continue
		}
		params, score, ok := matchTemplate(strings.Split(strings.TrimPrefix(p, "/"), "/"), segs)
		if !ok {
			continue
		}
		score *= 2
		if m == method {
			score += gwRouteMethodExact
		}
		if score > bestScore {
			best, bestScore, bestParams = k, score, params
		}
	}
	if bestScore >= 0 {
		return best, bestParams, true
	}
	for _, k := range keys {
		if k == gwDefaultRouteKey {
			return k, nil, true
		}
	}
	return "", nil, false
}

func matchTemplate(tmpl, segs []string) (map[string]string, int, bool) {
	params := map[string]string{}
	score := 0
	for i, t := range tmpl {
		if strings.HasPrefix(t, "{") && strings.HasSuffix(t, gwGreedySuffix) {
			if i >= len(segs) || (i == len(segs)-1 && segs[i] == "" && i > 0) {
				return nil, 0, false
			}
			params[strings.TrimSuffix(strings.TrimPrefix(t, "{"), gwGreedySuffix)] = strings.Join(segs[i:], "/")
			return params, score*gwRouteSegmentWeights + gwRouteScoreGreedy, true
		}
		if i >= len(segs) {
			return nil, 0, false
		}
		if strings.HasPrefix(t, "{") && strings.HasSuffix(t, "}") {
			if segs[i] == "" {
				return nil, 0, false
			}
			params[t[1:len(t)-1]] = segs[i]
			score = score*gwRouteSegmentWeights + gwRouteScoreParam
			continue
		}
		if t != segs[i] {
			return nil, 0, false
		}
		score = score*gwRouteSegmentWeights + gwRouteScoreLiteral
	}
	if len(segs) != len(tmpl) {
		return nil, 0, false
	}
	return params, score * gwRouteSegmentWeights, true
}

// gwBuildEvent builds a payload-2.0 event.
func gwBuildEvent(r *http.Request, body []byte, ev gwEventContext) ([]byte, error) {
	headers := map[string]string{}
	var cookies []string
	for k, vs := range r.Header {
		lk := strings.ToLower(k)
		if lk == "cookie" {
			for _, v := range vs {
				for _, c := range strings.Split(v, ";") {
					if c = strings.TrimSpace(c); c != "" {
						cookies = append(cookies, c)
					}
				}
			}
			continue
		}
		headers[lk] = strings.Join(vs, ",")
	}
	headers["host"] = r.Host
	var qsp map[string]string
	if r.URL.RawQuery != "" {
		qsp = map[string]string{}
		for k, vs := range r.URL.Query() {
			qsp[k] = strings.Join(vs, ",")
		}
	}
	now := time.Now()
	sourceIP := r.RemoteAddr
	if i := strings.LastIndex(sourceIP, ":"); i >= 0 {
		sourceIP = sourceIP[:i]
	}
	evt := map[string]any{
		"version":        "2.0",
		"routeKey":       ev.RouteKey,
		"rawPath":        r.URL.EscapedPath(),
		"rawQueryString": r.URL.RawQuery,
		"headers":        headers,
		"requestContext": map[string]any{
			"accountId":    ev.AccountID,
			"apiId":        ev.APIID,
			"domainName":   r.Host,
			"domainPrefix": ev.APIID,
			"http": map[string]string{
				"method": r.Method, "path": r.URL.Path, "protocol": r.Proto,
				"sourceIp": sourceIP, "userAgent": r.UserAgent(),
			},
			"requestId": ev.RequestID,
			"routeKey":  ev.RouteKey,
			"stage":     ev.Stage,
			"time":      now.UTC().Format("02/Jan/2006:15:04:05 -0700"),
			"timeEpoch": now.UnixMilli(),
		},
		"isBase64Encoded": false,
	}
	if len(cookies) > 0 {
		evt["cookies"] = cookies
	}
	if qsp != nil {
		evt["queryStringParameters"] = qsp
	}
	if len(ev.PathParameters) > 0 {
		evt["pathParameters"] = ev.PathParameters
	}
	if len(body) > 0 {
		if utf8.Valid(body) && textual(r.Header.Get("Content-Type")) {
			evt["body"] = string(body)
		} else {
			evt["body"] = base64.StdEncoding.EncodeToString(body)
			evt["isBase64Encoded"] = true
		}
	}
	return json.Marshal(evt)
}

func textual(ct string) bool {
	ct = strings.ToLower(ct)
	return ct == "" || strings.HasPrefix(ct, "text/") || strings.Contains(ct, "json") || strings.Contains(ct, "xml") ||
		strings.Contains(ct, "javascript") || strings.Contains(ct, "x-www-form-urlencoded")
}

// gwWriteResponse writes a payload-2.0 response, or a bare value as a 200 JSON body.
func gwWriteResponse(w http.ResponseWriter, payload []byte) error {
	var resp struct {
		StatusCode      *int              `json:"statusCode"`
		Headers         map[string]string `json:"headers"`
		MultiValue      map[string][]string
		Cookies         []string `json:"cookies"`
		Body            *string  `json:"body"`
		IsBase64Encoded bool     `json:"isBase64Encoded"`
	}
	if err := json.Unmarshal(payload, &resp); err != nil || resp.StatusCode == nil {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(payload)))
		w.WriteHeader(http.StatusOK)
		_, err := w.Write(payload)
		return err
	}
	body := []byte{}
	if resp.Body != nil {
		body = []byte(*resp.Body)
		if resp.IsBase64Encoded {
			b, err := base64.StdEncoding.DecodeString(*resp.Body)
			if err != nil {
				gwWriteError(w, http.StatusInternalServerError)
				return err
			}
			body = b
		}
	}
	for k, v := range resp.Headers {
		w.Header().Set(k, v)
	}
	for _, c := range resp.Cookies {
		w.Header().Add("Set-Cookie", c)
	}
	if w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(*resp.StatusCode)
	_, err := w.Write(body)
	return err
}

// gwWriteError writes API Gateway's own error responses.
func gwWriteError(w http.ResponseWriter, status int) {
	body := gwInternalErrorBody
	switch status {
	case http.StatusNotFound:
		body = gwNotFoundBody
	case http.StatusRequestEntityTooLarge:
		body = gwTooLargeBody
	case http.StatusServiceUnavailable:
		body = gwServiceUnavailBody
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write([]byte(body))
}
