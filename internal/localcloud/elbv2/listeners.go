package elbv2

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

type listenerRec struct {
	ARN          string            `json:"arn"`
	LB           string            `json:"lb"`
	Protocol     string            `json:"protocol"` // HTTP, or HTTPS served as plain HTTP
	Port         int               `json:"port"`
	Certificates []string          `json:"certificates,omitempty"`
	SslPolicy    string            `json:"ssl_policy,omitempty"`
	Actions      []actionRec       `json:"actions"`
	Tags         map[string]string `json:"tags"`
}

// actionRec is a default action: forward (to weighted target groups) or fixed-response.
type actionRec struct {
	Type        string     `json:"type"`
	Order       int        `json:"order,omitempty"`
	Forward     []tgWeight `json:"forward,omitempty"`
	StatusCode  string     `json:"status_code,omitempty"`
	ContentType string     `json:"content_type,omitempty"`
	MessageBody string     `json:"message_body,omitempty"`
}

type tgWeight struct {
	ARN    string `json:"arn"`
	Weight int    `json:"weight"`
}

func (l *listenerRec) targetGroups() []string {
	var out []string
	for _, a := range l.Actions {
		for _, w := range a.Forward {
			out = append(out, w.ARN)
		}
	}
	return out
}

// formActions reads DefaultActions.member.N; false = answered.
func (r *Room) formActions(q *core.Request, f url.Values, lb *lbRec) ([]actionRec, bool) {
	var out []actionRec
	for _, p := range memberKeys(f, "DefaultActions") {
		a := actionRec{Type: f.Get(p + ".Type")}
		a.Order, _ = strconv.Atoi(f.Get(p + ".Order"))
		switch a.Type {
		case "forward":
			if arn := f.Get(p + ".TargetGroupArn"); arn != "" {
				a.Forward = append(a.Forward, tgWeight{ARN: arn, Weight: 1})
			}
			for _, w := range memberKeys(f, p+".ForwardConfig.TargetGroups") {
				arn := f.Get(w + ".TargetGroupArn")
				if len(a.Forward) == 1 && a.Forward[0].ARN == arn {
					continue
				}
				weight, err := strconv.Atoi(orDefault(f.Get(w+".Weight"), "1"))
				if err != nil || weight < 0 || weight > 999 {
					invalid(q, "Target group weight must be between 0 and 999")
					return nil, false
				}
				a.Forward = append(a.Forward, tgWeight{ARN: arn, Weight: weight})
			}
			if len(a.Forward) == 0 {
				invalid(q, "A target group ARN must be specified for a forward action")
				return nil, false
			}
			for _, w := range a.Forward {
				tg := r.st.TargetGroups[w.ARN]
				if tg == nil {
					fail(q, "TargetGroupNotFound", "Target groups '["+w.ARN+"]' not found")
					return nil, false
				}
				if tg.VpcID != lb.VpcID {
					invalid(q, "Target group '"+w.ARN+"' is not in the load balancer's VPC")
					return nil, false
				}
				for _, other := range r.lbsOf(w.ARN) {
					if other != lb.ARN {
						fail(q, "TargetGroupAssociationLimit", "The following target groups cannot be associated with more than one load balancer: "+w.ARN)
						return nil, false
					}
				}
			}
		case "fixed-response":
			a.StatusCode = f.Get(p + ".FixedResponseConfig.StatusCode")
			a.ContentType = f.Get(p + ".FixedResponseConfig.ContentType")
			a.MessageBody = f.Get(p + ".FixedResponseConfig.MessageBody")
			if n, err := strconv.Atoi(a.StatusCode); err != nil || n < 200 || n > 599 {
				invalid(q, "Fixed response status code must be a 2XX, 4XX or 5XX code")
				return nil, false
			}
		default:
			invalid(q, "localcloud supports the default action types forward and fixed-response, not '"+a.Type+"'")
			return nil, false
		}
		out = append(out, a)
	}
	if len(out) != 1 {
		invalid(q, "Exactly one default action (forward or fixed-response) must be specified")
		return nil, false
	}
	return out, true
}

// listenerSettings reads protocol, port and certificates; false = answered.
func listenerSettings(q *core.Request, f url.Values, l *listenerRec) bool {
	if v := f.Get("Protocol"); v != "" {
		if v != "HTTP" && v != "HTTPS" {
			invalid(q, "Listener protocol '"+v+"' is not valid for an application load balancer: HTTP or HTTPS")
			return false
		}
		l.Protocol = v
	}
	if v := f.Get("Port"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 65535 {
			invalid(q, "Listener port must be between 1 and 65535, not '"+v+"'")
			return false
		}
		l.Port = n
	}
	if certs := memberKeys(f, "Certificates"); len(certs) > 0 {
		l.Certificates = nil
		for _, c := range certs {
			l.Certificates = append(l.Certificates, f.Get(c+".CertificateArn"))
		}
	}
	if v := f.Get("SslPolicy"); v != "" {
		l.SslPolicy = v
	}
	if l.Protocol == "HTTPS" {
		if len(l.Certificates) == 0 {
			fail(q, "CertificateNotFound", "A certificate must be specified for HTTPS listeners")
			return false
		}
		l.SslPolicy = orDefault(l.SslPolicy, "ELBSecurityPolicy-2016-08")
	} else {
		l.Certificates, l.SslPolicy = nil, ""
	}
	if l.Protocol == "" || l.Port == 0 {
		invalid(q, "A listener needs a protocol and a port")
		return false
	}
	return true
}

func (r *Room) createListener(q *core.Request, f url.Values) {
	lb := r.lbArg(q, f)
	if lb == nil {
		return
	}
	l := &listenerRec{LB: lb.ARN}
	if !listenerSettings(q, f, l) {
		return
	}
	actions, ok := r.formActions(q, f, lb)
	if !ok {
		return
	}
	l.Actions = actions
	tags, ok := formTags(q, f)
	if !ok {
		return
	}
	for _, old := range r.st.Listeners {
		if old.LB == lb.ARN && old.Port == l.Port {
			if old.Protocol == l.Protocol && slices.EqualFunc(old.Actions, l.Actions, sameAction) {
				respond(q, func(b *core.XMLBuf) { writeListeners(b, []*listenerRec{old}) })
				return
			}
			fail(q, "DuplicateListener", "A listener already exists on this port for this load balancer")
			return
		}
	}
	l.Tags = tags
	l.ARN = strings.Replace(lb.ARN, ":loadbalancer/", ":listener/", 1) + "/" + newARNID()
	if err := r.startProxyLocked(l); err != nil {
		invalid(q, err.Error())
		return
	}
	activate := r.unusedGroups(l)
	r.st.Listeners[l.ARN] = l
	r.activateLocked(activate)
	r.commitLocked()
	respond(q, func(b *core.XMLBuf) { writeListeners(b, []*listenerRec{l}) })
}

func sameAction(a, b actionRec) bool {
	return a.Type == b.Type && slices.Equal(a.Forward, b.Forward) && a.StatusCode == b.StatusCode && a.MessageBody == b.MessageBody && a.ContentType == b.ContentType
}

// unusedGroups are the target groups of l that no listener forwards to yet.
func (r *Room) unusedGroups(l *listenerRec) []string {
	var out []string
	for _, arn := range l.targetGroups() {
		if len(r.lbsOf(arn)) == 0 {
			out = append(out, arn)
		}
	}
	return out
}

// activateLocked starts health checking from "initial" the targets of groups that were
// not in use (their health was not checked while no load balancer used them).
func (r *Room) activateLocked(tgs []string) {
	for _, arn := range tgs {
		tg := r.st.TargetGroups[arn]
		if tg == nil {
			continue
		}
		for _, t := range tg.Targets {
			if t.State != "draining" {
				t.setState("initial", "Elb.RegistrationInProgress", "Target registration is in progress")
				t.nextCheck = time.Time{}
			}
		}
	}
}

func writeListeners(b *core.XMLBuf, ls []*listenerRec) {
	b.Open("Listeners")
	for _, l := range ls {
		b.Open("member")
		b.El("ListenerArn", l.ARN)
		b.El("LoadBalancerArn", l.LB)
		b.El("Port", strconv.Itoa(l.Port))
		b.El("Protocol", l.Protocol)
		if len(l.Certificates) > 0 {
			b.Open("Certificates")
			for _, c := range l.Certificates {
				b.Open("member")
				b.El("CertificateArn", c)
				b.End("member")
			}
			b.End("Certificates")
			b.El("SslPolicy", l.SslPolicy)
		}
		b.Open("DefaultActions")
		for i, a := range l.Actions {
			b.Open("member")
			b.El("Type", a.Type)
			b.El("Order", strconv.Itoa(max(a.Order, i+1)))
			if a.Type == "forward" {
				if len(a.Forward) == 1 {
					b.El("TargetGroupArn", a.Forward[0].ARN)
				}
				b.Open("ForwardConfig")
				b.Open("TargetGroups")
				for _, w := range a.Forward {
					b.Open("member")
					b.El("TargetGroupArn", w.ARN)
					b.El("Weight", strconv.Itoa(w.Weight))
					b.End("member")
				}
				b.End("TargetGroups")
				b.WriteString("<TargetGroupStickinessConfig><Enabled>false</Enabled></TargetGroupStickinessConfig>")
				b.End("ForwardConfig")
			} else {
				b.Open("FixedResponseConfig")
				b.El("StatusCode", a.StatusCode)
				if a.ContentType != "" {
					b.El("ContentType", a.ContentType)
				}
				if a.MessageBody != "" {
					b.El("MessageBody", a.MessageBody)
				}
				b.End("FixedResponseConfig")
			}
			b.End("member")
		}
		b.End("DefaultActions")
		b.End("member")
	}
	b.End("Listeners")
}

func (r *Room) describeListeners(q *core.Request, f url.Values) {
	var ls []*listenerRec
	if arns := members(f, "ListenerArns"); len(arns) > 0 {
		var ok bool
		find := func(arn string) *listenerRec { return r.st.Listeners[arn] }
		if ls, ok = lookupAll(q, arns, find, "ListenerNotFound", func(k string) string { return "Listener '" + k + "' not found" }); !ok {
			return
		}
	} else {
		lb := r.lbArg(q, f)
		if lb == nil {
			return
		}
		for _, l := range r.st.Listeners {
			if l.LB == lb.ARN {
				ls = append(ls, l)
			}
		}
		slices.SortFunc(ls, func(a, b *listenerRec) int { return a.Port - b.Port })
	}
	respondPage(q, f, ls, writeListeners)
}

func (r *Room) listenerArg(q *core.Request, f url.Values) *listenerRec {
	arn := f.Get("ListenerArn")
	return arg(q, r.st.Listeners, arn, "ListenerNotFound", "Listener '"+arn+"' not found")
}

func (r *Room) modifyListener(q *core.Request, f url.Values) {
	l := r.listenerArg(q, f)
	if l == nil {
		return
	}
	lb := r.st.LoadBalancers[l.LB]
	next := *l
	next.Certificates = slices.Clone(l.Certificates)
	if !listenerSettings(q, f, &next) {
		return
	}
	if len(memberKeys(f, "DefaultActions")) > 0 {
		actions, ok := r.formActions(q, f, lb)
		if !ok {
			return
		}
		next.Actions = actions
	}
	for _, other := range r.st.Listeners {
		if other.ARN != l.ARN && other.LB == l.LB && other.Port == next.Port {
			fail(q, "DuplicateListener", "A listener already exists on this port for this load balancer")
			return
		}
	}
	if next.Port != l.Port {
		// Bind the new port before letting the old one go: a port that cannot be bound
		// leaves the listener as it was.
		old := r.proxies[l.ARN]
		delete(r.proxies, l.ARN)
		if err := r.startProxyLocked(&next); err != nil {
			r.proxies[l.ARN] = old
			invalid(q, err.Error())
			return
		}
		if old != nil {
			old.close()
		}
	}
	activate := r.unusedGroups(&next)
	*l = next
	r.activateLocked(activate)
	r.commitLocked()
	respond(q, func(b *core.XMLBuf) { writeListeners(b, []*listenerRec{l}) })
}

func (r *Room) deleteListener(q *core.Request, f url.Values) {
	l := r.listenerArg(q, f)
	if l == nil {
		return
	}
	r.stopProxyLocked(l.ARN)
	delete(r.st.Listeners, l.ARN)
	r.commitLocked()
	respond(q, nil)
}
