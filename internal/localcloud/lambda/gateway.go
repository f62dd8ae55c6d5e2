package lambda

import (
	"context"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

// GatewayGrant is what an API stage checks before it invokes a function (core.Functions).
func (r *Room) GatewayGrant(fn, qual, sourceArn string) (exists, allowed bool, arn string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	f := r.st.Functions[fn]
	if f == nil {
		return false, false, ""
	}
	return true, f.allowsAPIGateway(qual, sourceArn), f.qualifiedARN(qual)
}

// InvokeFunction runs one synchronous invocation for an API stage (core.Functions).
func (r *Room) InvokeFunction(ctx context.Context, fn, qual string, payload []byte) ([]byte, string, error) {
	t, err := r.target(fn, qual)
	if err != nil {
		return nil, "", err
	}
	res := r.run(ctx, t, payload)
	return res.Payload, res.FunctionError, nil
}

// allowsAPIGateway checks the resource policy of the invoked qualifier for an invoke grant
// to apigateway.amazonaws.com whose SourceArn (if any) matches.
func (f *functionRec) allowsAPIGateway(qual, sourceArn string) bool {
	if qual == "$LATEST" {
		qual = ""
	}
	for _, s := range f.Policies[qual] {
		if s.Principal != "apigateway.amazonaws.com" && s.Principal != "*" {
			continue
		}
		if s.Action != "lambda:InvokeFunction" && s.Action != "lambda:*" {
			continue
		}
		if s.SourceAccount != "" && s.SourceAccount != core.AccountID {
			continue
		}
		if s.SourceArn != "" && !arnLike(s.SourceArn, sourceArn) {
			continue
		}
		return true
	}
	return false
}

// arnLike matches IAM's ArnLike: * matches any run of characters (including '/'),
// ? matches one.
func arnLike(pattern, s string) bool {
	return wildcard(pattern, s)
}

func wildcard(p, s string) bool {
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for i := len(s); i >= 0; i-- {
				if wildcard(p[1:], s[i:]) {
					return true
				}
			}
			return false
		case '?':
			if len(s) == 0 {
				return false
			}
		default:
			if len(s) == 0 || s[0] != p[0] {
				return false
			}
		}
		p, s = p[1:], s[1:]
	}
	return len(s) == 0
}
