package localcloud

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	ec2types "github.com/aws/aws-sdk-go-v2/service/ec2/types"
	elb "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2"
	elbtypes "github.com/aws/aws-sdk-go-v2/service/elasticloadbalancingv2/types"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

// albEnv is an internal ALB in the default VPC with a target group (health checks every
// second, thresholds 2, path /health) and an HTTP listener forwarding to it.
type albEnv struct {
	elb       *elb.Client
	ec2       *ec2.Client
	subnets   []string
	group     string
	lbARN     string
	tgARN     string
	listener  string
	dnsName   string
	url       string // http://DNSName:port
	lbCreated *elb.CreateLoadBalancerOutput
}

func defaultSubnets(t testing.TB, cl *ec2.Client) []string {
	out, err := cl.DescribeSubnets(context.Background(), &ec2.DescribeSubnetsInput{Filters: []ec2types.Filter{ec2Filter("default-for-az", "true")}})
	must(t, err)
	var ids []string
	for _, s := range out.Subnets {
		ids = append(ids, aws.ToString(s.SubnetId))
	}
	return ids
}

const albPort = 18080

func newALB(t testing.TB, c *Cloud, name string) *albEnv {
	t.Helper()
	ctx := context.Background()
	cfg := sdk(c, false).cfg
	e := &albEnv{elb: elb.NewFromConfig(cfg), ec2: ec2.NewFromConfig(cfg)}
	e.subnets = defaultSubnets(t, e.ec2)
	sg, err := e.ec2.CreateSecurityGroup(ctx, &ec2.CreateSecurityGroupInput{GroupName: aws.String(name + "-alb"), Description: aws.String("alb")})
	must(t, err)
	e.group = aws.ToString(sg.GroupId)
	lb, err := e.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String(name), Scheme: elbtypes.LoadBalancerSchemeEnumInternal,
		Subnets: e.subnets[:2], SecurityGroups: []string{e.group}, Tags: []elbtypes.Tag{{Key: aws.String("rudderctl:stack"), Value: aws.String(name)}}})
	must(t, err)
	e.lbCreated = lb
	e.lbARN = aws.ToString(lb.LoadBalancers[0].LoadBalancerArn)
	e.dnsName = aws.ToString(lb.LoadBalancers[0].DNSName)
	vpc := aws.ToString(lb.LoadBalancers[0].VpcId)
	tg, err := e.elb.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String(name + "-tg"), Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(9090), VpcId: aws.String(vpc), TargetType: elbtypes.TargetTypeEnumIp, HealthCheckPath: aws.String("/health"),
		HealthCheckIntervalSeconds: aws.Int32(1), HealthCheckTimeoutSeconds: aws.Int32(1), HealthyThresholdCount: aws.Int32(2), UnhealthyThresholdCount: aws.Int32(2)})
	must(t, err)
	e.tgARN = aws.ToString(tg.TargetGroups[0].TargetGroupArn)
	l, err := e.elb.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: aws.String(e.lbARN), Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(albPort), DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: aws.String(e.tgARN)}}})
	must(t, err)
	e.listener = aws.ToString(l.Listeners[0].ListenerArn)
	e.url = "http://" + net.JoinHostPort(e.dnsName, strconv.Itoa(albPort))
	return e
}

// backend is a target: it answers its name, counts requests, can fail its health check,
// and holds /slow requests until released.
type backend struct {
	name    string
	srv     *httptest.Server
	ip      string
	port    int
	sick    atomic.Bool
	hits    atomic.Int64
	lastHdr atomic.Value // http.Header of the last proxied request
	slowIn  chan struct{}
	release chan struct{}
}

func newBackend(t testing.TB, name string) *backend {
	b := &backend{name: name, slowIn: make(chan struct{}, 10), release: make(chan struct{})}
	b.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/health":
			if b.sick.Load() {
				w.WriteHeader(http.StatusInternalServerError)
				return
			}
			_, _ = io.WriteString(w, "ok")
			return
		case "/slow":
			b.slowIn <- struct{}{}
			<-b.release
		}
		b.hits.Add(1)
		b.lastHdr.Store(r.Header.Clone())
		body, _ := io.ReadAll(r.Body)
		fmt.Fprintf(w, "%s %s", b.name, body)
	}))
	t.Cleanup(b.stop)
	host, port, _ := net.SplitHostPort(b.srv.Listener.Addr().String())
	b.ip = host
	b.port, _ = strconv.Atoi(port)
	return b
}

func (b *backend) stop() {
	select {
	case <-b.release:
	default:
		close(b.release)
	}
	b.srv.CloseClientConnections()
	b.srv.Close()
}

func (e *albEnv) register(t testing.TB, bs ...*backend) {
	var targets []elbtypes.TargetDescription
	for _, b := range bs {
		targets = append(targets, elbtypes.TargetDescription{Id: aws.String(b.ip), Port: aws.Int32(int32(b.port))})
	}
	_, err := e.elb.RegisterTargets(context.Background(), &elb.RegisterTargetsInput{TargetGroupArn: aws.String(e.tgARN), Targets: targets})
	must(t, err)
}

// health is the target's state and reason, as DescribeTargetHealth reports them.
func (e *albEnv) health(t testing.TB, b *backend) (string, string) {
	return e.targetHealth(t, b.ip, b.port)
}

func (e *albEnv) targetHealth(t testing.TB, ip string, port int) (string, string) {
	out, err := e.elb.DescribeTargetHealth(context.Background(), &elb.DescribeTargetHealthInput{TargetGroupArn: aws.String(e.tgARN),
		Targets: []elbtypes.TargetDescription{{Id: aws.String(ip), Port: aws.Int32(int32(port))}}})
	must(t, err)
	h := out.TargetHealthDescriptions[0].TargetHealth
	return string(h.State), string(h.Reason)
}

// waitHealth polls until the target reaches state (the checks run every second).
func (e *albEnv) waitHealth(t testing.TB, b *backend, state string) string {
	t.Helper()
	return e.waitTarget(t, b.ip, b.port, state)
}

func (e *albEnv) waitTarget(t testing.TB, ip string, port int, state string) string {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		s, reason := e.targetHealth(t, ip, port)
		if s == state {
			return reason
		}
		if time.Now().After(deadline) {
			t.Fatalf("target %s:%d: state %s (%s), want %s", ip, port, s, reason, state)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestELBv2API(t *testing.T) {
	c := startCloud(t, Options{})
	e := newALB(t, c, "api")
	ctx := context.Background()
	lb := e.lbCreated.LoadBalancers[0]
	if lb.State.Code != elbtypes.LoadBalancerStateEnumProvisioning || lb.Scheme != elbtypes.LoadBalancerSchemeEnumInternal ||
		!strings.HasPrefix(e.dnsName, "127.77.") || len(lb.AvailabilityZones) != 2 || lb.SecurityGroups[0] != e.group {
		t.Fatalf("created: %+v", lb)
	}
	waiter := elb.NewLoadBalancerAvailableWaiter(e.elb, func(o *elb.LoadBalancerAvailableWaiterOptions) {
		o.MinDelay, o.MaxDelay = 50*time.Millisecond, 100*time.Millisecond
	})
	must(t, waiter.Wait(ctx, &elb.DescribeLoadBalancersInput{LoadBalancerArns: []string{e.lbARN}}, 30*time.Second))

	// The same request again is the same load balancer; other settings conflict.
	again, err := e.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("api"), Scheme: elbtypes.LoadBalancerSchemeEnumInternal,
		Subnets: e.subnets[:2], SecurityGroups: []string{e.group}})
	must(t, err)
	if aws.ToString(again.LoadBalancers[0].LoadBalancerArn) != e.lbARN {
		t.Fatal("idempotent create made another load balancer")
	}
	_, err = e.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("api"), Subnets: e.subnets[:2]})
	wantCode(t, err, "DuplicateLoadBalancerName")
	_, err = e.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("one-zone"), Subnets: e.subnets[:1]})
	wantCode(t, err, "ValidationError")
	_, err = e.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String("no-sg"), Subnets: e.subnets[:2], SecurityGroups: []string{"sg-00000000000000000"}})
	wantCode(t, err, "InvalidSecurityGroup")
	_, err = e.elb.DescribeLoadBalancers(ctx, &elb.DescribeLoadBalancersInput{Names: []string{"nope"}})
	wantCode(t, err, "LoadBalancerNotFound")

	// Pagination over three load balancers, two a page.
	for _, n := range []string{"page-a", "page-b"} {
		_, err := e.elb.CreateLoadBalancer(ctx, &elb.CreateLoadBalancerInput{Name: aws.String(n), Subnets: e.subnets})
		must(t, err)
	}
	var names []string
	pg := elb.NewDescribeLoadBalancersPaginator(e.elb, &elb.DescribeLoadBalancersInput{PageSize: aws.Int32(2)})
	pages := 0
	for pg.HasMorePages() {
		out, err := pg.NextPage(ctx)
		must(t, err)
		pages++
		for _, l := range out.LoadBalancers {
			names = append(names, aws.ToString(l.LoadBalancerName))
		}
	}
	if fmt.Sprint(names) != "[api page-a page-b]" || pages != 2 {
		t.Fatalf("paged: %v in %d pages", names, pages)
	}

	// Attributes.
	attrs, err := e.elb.DescribeTargetGroupAttributes(ctx, &elb.DescribeTargetGroupAttributesInput{TargetGroupArn: aws.String(e.tgARN)})
	must(t, err)
	if attr(attrs.Attributes, "deregistration_delay.timeout_seconds") != "300" {
		t.Fatalf("tg attributes: %+v", attrs.Attributes)
	}
	_, err = e.elb.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(e.tgARN),
		Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("30")}}})
	must(t, err)
	_, err = e.elb.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(e.tgARN),
		Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("no.such.key"), Value: aws.String("1")}}})
	wantCode(t, err, "ValidationError")
	lbAttrs, err := e.elb.ModifyLoadBalancerAttributes(ctx, &elb.ModifyLoadBalancerAttributesInput{LoadBalancerArn: aws.String(e.lbARN),
		Attributes: []elbtypes.LoadBalancerAttribute{{Key: aws.String("idle_timeout.timeout_seconds"), Value: aws.String("120")}}})
	must(t, err)
	if v := lbAttr(lbAttrs.Attributes, "idle_timeout.timeout_seconds"); v != "120" {
		t.Fatalf("idle timeout %q", v)
	}

	// Target groups: duplicates, in use, not found.
	tgs, err := e.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{LoadBalancerArn: aws.String(e.lbARN)})
	must(t, err)
	if len(tgs.TargetGroups) != 1 || tgs.TargetGroups[0].LoadBalancerArns[0] != e.lbARN || aws.ToInt32(tgs.TargetGroups[0].HealthCheckIntervalSeconds) != 1 {
		t.Fatalf("target groups of the ALB: %+v", tgs.TargetGroups)
	}
	_, err = e.elb.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("api-tg"), Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(80), VpcId: tgs.TargetGroups[0].VpcId, TargetType: elbtypes.TargetTypeEnumIp})
	wantCode(t, err, "DuplicateTargetGroupName")
	_, err = e.elb.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: aws.String(e.tgARN)})
	wantCode(t, err, "ResourceInUse")
	_, err = e.elb.DescribeTargetGroups(ctx, &elb.DescribeTargetGroupsInput{TargetGroupArns: []string{e.tgARN + "0"}})
	wantCode(t, err, "TargetGroupNotFound")

	// Listeners: a second one on the port conflicts; describe; not found.
	other, err := e.elb.CreateTargetGroup(ctx, &elb.CreateTargetGroupInput{Name: aws.String("other"), Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(80), VpcId: tgs.TargetGroups[0].VpcId, TargetType: elbtypes.TargetTypeEnumIp})
	must(t, err)
	_, err = e.elb.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: aws.String(e.lbARN), Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(albPort), DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: other.TargetGroups[0].TargetGroupArn}}})
	wantCode(t, err, "DuplicateListener")
	ls, err := e.elb.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: aws.String(e.lbARN)})
	must(t, err)
	if len(ls.Listeners) != 1 || aws.ToString(ls.Listeners[0].DefaultActions[0].TargetGroupArn) != e.tgARN {
		t.Fatalf("listeners: %+v", ls.Listeners)
	}
	_, err = e.elb.DescribeListeners(ctx, &elb.DescribeListenersInput{ListenerArns: []string{e.listener + "0"}})
	wantCode(t, err, "ListenerNotFound")

	// Targets: registered to a group in use they start "initial"; not registered is "unused".
	b := newBackend(t, "a")
	e.register(t, b)
	if s, reason := e.health(t, b); s != "initial" && s != "healthy" {
		t.Fatalf("new target %s (%s)", s, reason)
	}
	_, err = e.elb.RegisterTargets(ctx, &elb.RegisterTargetsInput{TargetGroupArn: aws.String(e.tgARN), Targets: []elbtypes.TargetDescription{{Id: aws.String("i-0123")}}})
	wantCode(t, err, "ValidationError")
	out, err := e.elb.DescribeTargetHealth(ctx, &elb.DescribeTargetHealthInput{TargetGroupArn: other.TargetGroups[0].TargetGroupArn,
		Targets: []elbtypes.TargetDescription{{Id: aws.String("10.0.0.1")}}})
	must(t, err)
	if h := out.TargetHealthDescriptions[0].TargetHealth; h.State != elbtypes.TargetHealthStateEnumUnused || h.Reason != elbtypes.TargetHealthReasonEnumNotRegistered {
		t.Fatalf("not registered: %+v", h)
	}

	// Tags and resources.
	_, err = e.elb.AddTags(ctx, &elb.AddTagsInput{ResourceArns: []string{e.tgARN}, Tags: []elbtypes.Tag{{Key: aws.String("rudderctl:stack"), Value: aws.String("api")}}})
	must(t, err)
	tags, err := e.elb.DescribeTags(ctx, &elb.DescribeTagsInput{ResourceArns: []string{e.lbARN, e.tgARN}})
	must(t, err)
	if len(tags.TagDescriptions) != 2 || len(tags.TagDescriptions[1].Tags) != 1 {
		t.Fatalf("tags: %+v", tags.TagDescriptions)
	}
	if res := c.Resources("rudderctl:stack", "api"); len(res) != 2 {
		t.Fatalf("resources: %+v", res)
	}
	_, err = e.elb.AddTags(ctx, &elb.AddTagsInput{ResourceArns: []string{e.lbARN + "0"}, Tags: []elbtypes.Tag{{Key: aws.String("k"), Value: aws.String("v")}}})
	wantCode(t, err, "LoadBalancerNotFound")

	// A port that cannot be bound fails the call, saying why; nothing is created.
	taken, err := net.Listen("tcp", net.JoinHostPort(e.dnsName, "18081"))
	must(t, err)
	defer taken.Close()
	_, err = e.elb.CreateListener(ctx, &elb.CreateListenerInput{LoadBalancerArn: aws.String(e.lbARN), Protocol: elbtypes.ProtocolEnumHttp,
		Port: aws.Int32(18081), DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumForward, TargetGroupArn: other.TargetGroups[0].TargetGroupArn}}})
	wantCode(t, err, "ValidationError")
	if !strings.Contains(err.Error(), "in use") {
		t.Fatalf("bind error: %v", err)
	}
	if ls, _ := e.elb.DescribeListeners(ctx, &elb.DescribeListenersInput{LoadBalancerArn: aws.String(e.lbARN)}); len(ls.Listeners) != 1 {
		t.Fatalf("a listener was left behind: %+v", ls.Listeners)
	}

	// ModifyListener moves the proxy to the new port and action.
	_, err = e.elb.ModifyListener(ctx, &elb.ModifyListenerInput{ListenerArn: aws.String(e.listener), Port: aws.Int32(18082),
		DefaultActions: []elbtypes.Action{{Type: elbtypes.ActionTypeEnumFixedResponse, FixedResponseConfig: &elbtypes.FixedResponseActionConfig{
			StatusCode: aws.String("418"), ContentType: aws.String("text/plain"), MessageBody: aws.String("teapot")}}}})
	must(t, err)
	if _, err := http.Get(e.url); err == nil {
		t.Fatal("the old port still answers after ModifyListener")
	}
	if code, body := get(t, "http://"+net.JoinHostPort(e.dnsName, "18082")+"/"); code != 418 || body != "teapot" {
		t.Fatalf("fixed response: %d %s", code, body)
	}

	// The ALB's security group cannot be deleted while the ALB uses it.
	_, err = e.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(e.group)})
	wantCode(t, err, "DependencyViolation")

	// Deleting the load balancer removes its listeners and stops their proxy.
	_, err = e.elb.DeleteLoadBalancer(ctx, &elb.DeleteLoadBalancerInput{LoadBalancerArn: aws.String(e.lbARN)})
	must(t, err)
	if _, err := http.Get("http://" + net.JoinHostPort(e.dnsName, "18082")); err == nil {
		t.Fatal("the proxy still answers after DeleteLoadBalancer")
	}
	_, err = e.ec2.DeleteSecurityGroup(ctx, &ec2.DeleteSecurityGroupInput{GroupId: aws.String(e.group)})
	must(t, err)
	_, err = e.elb.DeleteTargetGroup(ctx, &elb.DeleteTargetGroupInput{TargetGroupArn: aws.String(e.tgARN)})
	must(t, err)
}

func attr(as []elbtypes.TargetGroupAttribute, k string) string {
	for _, a := range as {
		if aws.ToString(a.Key) == k {
			return aws.ToString(a.Value)
		}
	}
	return ""
}

func lbAttr(as []elbtypes.LoadBalancerAttribute, k string) string {
	for _, a := range as {
		if aws.ToString(a.Key) == k {
			return aws.ToString(a.Value)
		}
	}
	return ""
}

// TestALBRoundRobinAndHealthChecks: two real backends behind the proxy share the requests;
// one that fails its health check is taken out, its requests go to the other, and it comes
// back when it passes again.
func TestALBRoundRobinAndHealthChecks(t *testing.T) {
	c := startCloud(t, Options{})
	e := newALB(t, c, "rr")
	a, b := newBackend(t, "a"), newBackend(t, "b")
	e.register(t, a, b)
	if code, _ := get(t, e.url+"/"); code != http.StatusServiceUnavailable {
		t.Fatalf("before any target is healthy: %d, want 503", code)
	}
	e.waitHealth(t, a, "healthy")
	e.waitHealth(t, b, "healthy")

	served := map[string]int{}
	for range 10 {
		code, body := get(t, e.url+"/x")
		if code != http.StatusOK {
			t.Fatalf("through the ALB: %d %s", code, body)
		}
		served[strings.Fields(body)[0]]++
	}
	if served["a"] != 5 || served["b"] != 5 {
		t.Fatalf("round robin: %v", served)
	}
	h := a.lastHdr.Load().(http.Header)
	if h.Get("X-Forwarded-For") != "127.0.0.1" || h.Get("X-Forwarded-Port") != strconv.Itoa(albPort) || h.Get("X-Forwarded-Proto") != "http" ||
		!strings.HasPrefix(h.Get("X-Amzn-Trace-Id"), "Root=1-") {
		t.Fatalf("forwarded headers: %v", h)
	}

	b.sick.Store(true)
	if reason := e.waitHealth(t, b, "unhealthy"); reason != string(elbtypes.TargetHealthReasonEnumResponseCodeMismatch) {
		t.Fatalf("unhealthy reason %s", reason)
	}
	before := b.hits.Load()
	for range 6 {
		if code, body := get(t, e.url+"/y"); code != http.StatusOK || !strings.HasPrefix(body, "a ") {
			t.Fatalf("with b unhealthy: %d %s", code, body)
		}
	}
	if b.hits.Load() != before {
		t.Fatal("an unhealthy target got requests")
	}
	b.sick.Store(false)
	e.waitHealth(t, b, "healthy")
	served = map[string]int{}
	for range 4 {
		_, body := get(t, e.url+"/z")
		served[strings.Fields(body)[0]]++
	}
	if served["a"] != 2 || served["b"] != 2 {
		t.Fatalf("after b recovered: %v", served)
	}
	// A stopped backend fails its checks with a refused connection.
	b.stop()
	if reason := e.waitHealth(t, b, "unhealthy"); reason != string(elbtypes.TargetHealthReasonEnumFailedHealthChecks) {
		t.Fatalf("stopped backend: reason %s", reason)
	}
}

// TestALBDrainAndRetry: a deregistered target drains (an in-flight slow request completes,
// new requests go to the other target, it is removed after the delay); a target that stops
// between two health checks costs no failed request (refused connections go to the next).
func TestALBDrainAndRetry(t *testing.T) {
	c := startCloud(t, Options{})
	e := newALB(t, c, "drain")
	ctx := context.Background()
	_, err := e.elb.ModifyTargetGroupAttributes(ctx, &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(e.tgARN),
		Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("2")}}})
	must(t, err)
	a, b := newBackend(t, "a"), newBackend(t, "b")
	e.register(t, a, b)
	e.waitHealth(t, a, "healthy")
	e.waitHealth(t, b, "healthy")

	// A slow request lands on one of them; that one is deregistered while it runs.
	slow := make(chan string, 1)
	go func() {
		resp, err := http.Post(e.url+"/slow", "text/plain", strings.NewReader("payload"))
		if err != nil {
			slow <- err.Error()
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		slow <- fmt.Sprintf("%d %s", resp.StatusCode, body)
	}()
	var busy, other *backend
	select {
	case <-a.slowIn:
		busy, other = a, b
	case <-b.slowIn:
		busy, other = b, a
	case <-time.After(30 * time.Second):
		t.Fatal("the slow request reached no backend")
	}
	_, err = e.elb.DeregisterTargets(ctx, &elb.DeregisterTargetsInput{TargetGroupArn: aws.String(e.tgARN),
		Targets: []elbtypes.TargetDescription{{Id: aws.String(busy.ip), Port: aws.Int32(int32(busy.port))}}})
	must(t, err)
	if s, reason := e.health(t, busy); s != "draining" || reason != string(elbtypes.TargetHealthReasonEnumDeregistrationInProgress) {
		t.Fatalf("deregistered: %s %s", s, reason)
	}
	busyHits := busy.hits.Load()
	for range 4 {
		if code, body := get(t, e.url+"/new"); code != http.StatusOK || !strings.HasPrefix(body, other.name+" ") {
			t.Fatalf("while %s drains: %d %s", busy.name, code, body)
		}
	}
	if busy.hits.Load() != busyHits {
		t.Fatal("a draining target got a new request")
	}
	close(busy.release)
	if got := <-slow; got != "200 "+busy.name+" payload" {
		t.Fatalf("in-flight request on the draining target: %q", got)
	}
	e.waitHealth(t, busy, "unused") // removed after the delay

	// Between two health checks (interval now 300 s) the healthy target stops: requests are
	// still all answered, by the target that is left.
	e.register(t, busy)
	e.waitHealth(t, busy, "healthy")
	_, err = e.elb.ModifyTargetGroup(ctx, &elb.ModifyTargetGroupInput{TargetGroupArn: aws.String(e.tgARN),
		HealthCheckIntervalSeconds: aws.Int32(300), HealthCheckTimeoutSeconds: aws.Int32(5)})
	must(t, err)
	time.Sleep(1200 * time.Millisecond) // let a check already under way finish
	other.stop()
	for range 6 {
		resp, err := http.Post(e.url+"/after-stop", "text/plain", strings.NewReader("p"))
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || string(body) != busy.name+" p" {
			t.Fatalf("with %s stopped: %d %s", other.name, resp.StatusCode, body)
		}
	}
	if s, _ := e.health(t, other); s != "healthy" {
		t.Fatalf("the stopped target is %s already; the test needs it still counted healthy", s)
	}
}

// TestALBRestart: the proxies come back with the cloud, on the same address.
func TestALBRestart(t *testing.T) {
	dir := t.TempDir()
	c := startCloud(t, Options{StateDir: dir})
	e := newALB(t, c, "restart")
	a := newBackend(t, "a")
	e.register(t, a)
	e.waitHealth(t, a, "healthy")
	if code, body := get(t, e.url+"/"); code != http.StatusOK || !strings.HasPrefix(body, "a ") {
		t.Fatalf("before restart: %d %s", code, body)
	}
	must(t, c.Close())
	if _, err := http.Get(e.url + "/"); err == nil {
		t.Fatal("the proxy still answers after Close")
	}
	c2 := startCloud(t, Options{StateDir: dir})
	e2 := &albEnv{elb: elb.NewFromConfig(sdk(c2, false).cfg), tgARN: e.tgARN}
	e2.waitHealth(t, a, "healthy")
	out, err := e2.elb.DescribeLoadBalancers(context.Background(), &elb.DescribeLoadBalancersInput{Names: []string{"restart"}})
	must(t, err)
	groups, err := ec2.NewFromConfig(sdk(c2, false).cfg).DescribeSecurityGroups(context.Background(), &ec2.DescribeSecurityGroupsInput{GroupIds: []string{e.group}})
	must(t, err)
	if aws.ToString(groups.SecurityGroups[0].GroupName) != "restart-alb" {
		t.Fatalf("security group after restart: %+v", groups.SecurityGroups)
	}
	if aws.ToString(out.LoadBalancers[0].DNSName) != e.dnsName {
		t.Fatalf("address changed over a restart: %s, was %s", aws.ToString(out.LoadBalancers[0].DNSName), e.dnsName)
	}
	if code, body := get(t, e.url+"/"); code != http.StatusOK || !strings.HasPrefix(body, "a ") {
		t.Fatalf("after restart: %d %s", code, body)
	}
}

// TestALBIdleTimeout: a target that does not answer within the idle timeout is a 504.
func TestALBIdleTimeout(t *testing.T) {
	c := startCloud(t, Options{})
	e := newALB(t, c, "idle")
	_, err := e.elb.ModifyLoadBalancerAttributes(context.Background(), &elb.ModifyLoadBalancerAttributesInput{LoadBalancerArn: aws.String(e.lbARN),
		Attributes: []elbtypes.LoadBalancerAttribute{{Key: aws.String("idle_timeout.timeout_seconds"), Value: aws.String("1")}}})
	must(t, err)
	a := newBackend(t, "a")
	e.register(t, a)
	e.waitHealth(t, a, "healthy")
	if code, body := get(t, e.url+"/slow"); code != http.StatusGatewayTimeout {
		t.Fatalf("slow target: %d %s", code, body)
	}
}

// TestTargetsPeer: what ECS tells the load balancer through core.Targets.
func TestTargetsPeer(t *testing.T) {
	c := startCloud(t, Options{})
	e := newALB(t, c, "peer")
	_, err := e.elb.ModifyTargetGroupAttributes(context.Background(), &elb.ModifyTargetGroupAttributesInput{TargetGroupArn: aws.String(e.tgARN),
		Attributes: []elbtypes.TargetGroupAttribute{{Key: aws.String("deregistration_delay.timeout_seconds"), Value: aws.String("1")}}})
	must(t, err)
	targets := core.Peer[core.Targets](c)
	if port, ok := targets.TargetGroupPort(e.tgARN); !ok || port != 9090 {
		t.Fatalf("TargetGroupPort: %d %v", port, ok)
	}
	if err := targets.RegisterTarget(e.tgARN+"0", "127.0.0.1", 1); err == nil {
		t.Fatal("registered into a missing target group")
	}
	a := newBackend(t, "a")
	must(t, targets.RegisterTarget(e.tgARN, a.ip, a.port))
	if s := targets.TargetHealth(e.tgARN, a.ip, a.port); s != "initial" {
		t.Fatalf("just registered: %s", s)
	}
	e.waitHealth(t, a, "healthy")
	if s := targets.TargetHealth(e.tgARN, a.ip, a.port); s != "healthy" {
		t.Fatalf("TargetHealth %s, DescribeTargetHealth healthy", s)
	}
	targets.DeregisterTarget(e.tgARN, a.ip, a.port)
	if s := targets.TargetHealth(e.tgARN, a.ip, a.port); s != "draining" {
		t.Fatalf("deregistered: %s", s)
	}
	for deadline := time.Now().Add(30 * time.Second); targets.TargetHealth(e.tgARN, a.ip, a.port) != "unused"; time.Sleep(50 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the drained target was never removed")
		}
	}
}

// BenchmarkALBProxy: one request through the ALB's proxy, against the same backend dialled
// directly (a new connection each time, as the proxy dials its targets).
func BenchmarkALBProxy(b *testing.B) {
	c := startCloud(b, Options{})
	e := newALB(b, c, "bench")
	a := newBackend(b, "a")
	e.register(b, a)
	e.waitHealth(b, a, "healthy")
	client := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}}
	for _, x := range []struct{ name, url string }{{"direct", a.srv.URL + "/"}, {"alb", e.url + "/"}} {
		b.Run(x.name, func(b *testing.B) {
			for b.Loop() {
				resp, err := client.Get(x.url)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}
