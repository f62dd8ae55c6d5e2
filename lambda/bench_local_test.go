package lambda

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/apigatewayv2"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	awslambda "github.com/aws/aws-sdk-go-v2/service/lambda"
	ltypes "github.com/aws/aws-sdk-go-v2/service/lambda/types"

	"github.com/rudderctl/rudderctl/internal/apigwlocal"
	"github.com/rudderctl/rudderctl/internal/lambdalocal"
	"github.com/rudderctl/rudderctl/internal/localcloud"
	"github.com/rudderctl/rudderctl/internal/nodedist"
	"github.com/rudderctl/rudderctl/lambda/manifest"
	"github.com/rudderctl/rudderctl/packaging"
)

// localWorld is the packaged example transformer three ways: run directly with Node, behind
// `serve --local`'s gateway and pool, and deployed into a local cloud behind an API stage.
type localWorld struct {
	direct, serve, api string // base URLs
	pool               *lambdalocal.Pool
	event              func(body []byte) []byte // the payload-2.0 event the gateway would build

	stop []func()
}

var (
	localOnce sync.Once
	localW    *localWorld
	localErr  error
)

func (w *localWorld) close() {
	for i := len(w.stop) - 1; i >= 0; i-- {
		w.stop[i]()
	}
}

// startLocalWorld packages examples/transformer (Node 22, isolated-vm) and starts the three.
func startLocalWorld(b *testing.B) (*localWorld, error) {
	w := &localWorld{}
	ctx := context.Background()
	arch := map[string]string{"amd64": "x86_64", "arm64": "arm64"}[runtime.GOARCH]
	dir, err := os.MkdirTemp("", "rudderctl-bench-local-")
	if err != nil {
		return nil, err
	}
	w.stop = append(w.stop, func() { os.RemoveAll(dir) })
	dist, err := nodedist.Ensure(ctx, 22, arch, io.Discard)
	if err != nil {
		return w, err
	}
	zip := filepath.Join(dir, "t.zip")
	if _, err := packaging.Build(ctx, packaging.Options{Src: exampleDir(), Out: zip, Runtime: "nodejs22.x", Arch: arch, Progress: io.Discard}); err != nil {
		return w, fmt.Errorf("packaging examples/transformer: %w", err)
	}
	root := filepath.Join(dir, "task")
	if err := lambdalocal.Unzip(zip, root); err != nil {
		return w, err
	}
	m, err := lambdalocal.ReadManifest(root)
	if err != nil {
		return w, err
	}

	// Direct: the unpacked app, its manifest environment, the same Node.
	port, err := freeTCPPort()
	if err != nil {
		return w, err
	}
	cmd := exec.Command(dist.Node, m.Entry)
	cmd.Dir = root
	cmd.Env = []string{"PATH=" + filepath.Dir(dist.Node) + ":/usr/bin:/bin", "HOME=" + dir, "PORT=" + strconv.Itoa(port)}
	for k, v := range m.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return w, err
	}
	w.stop = append(w.stop, func() { syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL); cmd.Wait() })
	w.direct = "http://127.0.0.1:" + strconv.Itoa(port)

	// serve --local: what runServe builds (cmd/rudderctl/cmd_serve.go), in this process.
	fn := lambdalocal.Function{Name: "bench", Version: "$LATEST", TaskRoot: root, Runtime: m.Runtime, Arch: m.Arch,
		Handler: "rudderctl.handler", Env: map[string]string{"AWS_LAMBDA_EXEC_WRAPPER": "/var/task/" + manifest.WrapperName},
		Timeout: 30 * time.Second, MemoryMB: 1024}
	if w.pool, err = lambdalocal.NewPool(ctx, fn, lambdalocal.Options{Node: dist.Node}, 1); err != nil {
		return w, err
	}
	w.stop = append(w.stop, func() { w.pool.Close() })
	srv := httptest.NewServer(&apigwlocal.Gateway{Invoke: func(ctx context.Context, ev []byte) ([]byte, string, error) {
		res, err := w.pool.Invoke(ctx, ev)
		return res.Payload, res.FunctionError, err
	}})
	w.stop = append(w.stop, srv.Close)
	w.serve = srv.URL
	w.event = func(body []byte) []byte {
		r := httptest.NewRequest("POST", "/v0/destinations/webhook", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		ev, _ := apigwlocal.BuildEvent(r, body, apigwlocal.EventContext{RouteKey: "$default", Stage: "$default", APIID: "local"})
		return ev
	}

	// The local cloud: role, function, quick-created HTTP API, permission, as a deploy makes them.
	if w.api, err = deployToLocalCloud(ctx, w, zip); err != nil {
		return w, err
	}
	for _, u := range []string{w.direct, w.serve, w.api} {
		if err := waitHealthy(u + m.HealthPath); err != nil {
			return w, err
		}
	}
	return w, nil
}

func deployToLocalCloud(ctx context.Context, w *localWorld, zip string) (string, error) {
	c, err := localcloud.Start(ctx, localcloud.Options{Addr: "127.0.0.1:0",
		Delays: localcloud.Delays{Active: -1, Update: -1, RolePropagation: -1}})
	if err != nil {
		return "", err
	}
	w.stop = append(w.stop, func() { c.Close() })
	cfg := aws.Config{Region: "us-east-1", BaseEndpoint: aws.String(c.Endpoint()),
		Credentials: credentials.NewStaticCredentialsProvider("local", "local", "")}
	role, err := iam.NewFromConfig(cfg).CreateRole(ctx, &iam.CreateRoleInput{RoleName: aws.String("bench"),
		AssumeRolePolicyDocument: aws.String(`{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}`)})
	if err != nil {
		return "", err
	}
	code, err := os.ReadFile(zip)
	if err != nil {
		return "", err
	}
	lc := awslambda.NewFromConfig(cfg)
	fn, err := lc.CreateFunction(ctx, &awslambda.CreateFunctionInput{FunctionName: aws.String("bench"), Role: role.Role.Arn,
		Runtime: ltypes.RuntimeNodejs22x, Handler: aws.String("rudderctl.handler"), Code: &ltypes.FunctionCode{ZipFile: code},
		Timeout: aws.Int32(30), MemorySize: aws.Int32(1024),
		Environment: &ltypes.Environment{Variables: map[string]string{"AWS_LAMBDA_EXEC_WRAPPER": "/var/task/" + manifest.WrapperName}}})
	if err != nil {
		return "", err
	}
	api, err := apigatewayv2.NewFromConfig(cfg).CreateApi(ctx, &apigatewayv2.CreateApiInput{Name: aws.String("bench"),
		ProtocolType: "HTTP", Target: fn.FunctionArn})
	if err != nil {
		return "", err
	}
	if _, err := lc.AddPermission(ctx, &awslambda.AddPermissionInput{FunctionName: aws.String("bench"), StatementId: aws.String("apigw"),
		Action: aws.String("lambda:InvokeFunction"), Principal: aws.String("apigateway.amazonaws.com")}); err != nil {
		return "", err
	}
	return aws.ToString(api.ApiEndpoint), nil
}

func freeTCPPort() (int, error) {
	ep, err := newEndpoint(TransportTCP)
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(ep.port)
}

func waitHealthy(url string) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not answer 200 within 60 s (%v)", url, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// BenchmarkLocalPath sends the same processor batch round-robin to the packaged example app run
// directly, through `serve --local` (gateway -> RIE -> adapter -> app) and through a local-cloud
// API stage, plus the serve path's event straight into lambdalocal (no gateway), and
// reports each path's p50/p99 and the p50 of the per-round difference to direct (added).
// Needs Node 22 from npm and examples/transformer's dependencies (packaging installs them).
func BenchmarkLocalPath(b *testing.B) {
	if testing.Short() {
		b.Skip("packages and starts the example transformer")
	}
	localOnce.Do(func() { localW, localErr = startLocalWorld(b) })
	if localErr != nil {
		if localW != nil {
			localW.close()
		}
		b.Fatal(localErr)
	}
	w := localW
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 4, DisableCompression: true}}
	post := func(url string, body []byte) {
		resp, err := client.Post(url+"/v0/destinations/webhook", "application/json", bytes.NewReader(body))
		if err != nil {
			b.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			b.Fatalf("%s: %d", url, resp.StatusCode)
		}
	}
	for _, size := range []struct {
		name  string
		bytes int
	}{{"2KB", 2 << 10}, {"240KB", 240 << 10}, {"1MB", 1 << 20}} {
		body := transformerBody(size.bytes)
		ev := w.event(body)
		paths := []struct {
			name string
			call func()
		}{
			{"direct", func() { post(w.direct, body) }},
			{"serve", func() { post(w.serve, body) }},
			{"api", func() { post(w.api, body) }},
			{"lambdalocal", func() {
				if res, err := w.pool.Invoke(context.Background(), ev); err != nil || res.FunctionError != "" {
					b.Fatalf("lambdalocal: %v %.200s", err, res.Payload)
				}
			}},
		}
		b.Run("req="+size.name, func(b *testing.B) {
			d := make([][]time.Duration, len(paths))
			for i := range b.N + 5 {
				for k := range paths {
					k = (k + i) % len(paths) // rotate which goes first
					t := time.Now()
					paths[k].call()
					if i >= 5 { // after warm-up
						d[k] = append(d[k], time.Since(t))
					}
				}
			}
			for k, p := range paths {
				b.ReportMetric(ms(percentile(d[k], .5)), p.name+"-p50-ms")
				b.ReportMetric(ms(percentile(d[k], .99)), p.name+"-p99-ms")
				if k > 0 {
					added := make([]time.Duration, len(d[k]))
					for i := range added {
						added[i] = d[k][i] - d[0][i]
					}
					b.ReportMetric(ms(percentile(added, .5)), p.name+"-added-p50-ms")
				}
			}
			b.ReportMetric(0, "ns/op")
		})
	}
}
