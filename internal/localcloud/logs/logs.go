// Package logs is the local cloud's CloudWatch Logs (JSON 1.1): log groups, streams, events,
// retention and tags, and the sink the functions' output goes to.
package logs

import (
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

// stateFile keeps the log groups (the same document older versions wrote). It is saved
// on its own schedule: at most once a second while functions log.
const stateFile = "logs.json"

// maxEventsPerGroup bounds what a log group keeps (oldest dropped first).
const maxEventsPerGroup = 20_000

type logGroupRec struct {
	Name      string                   `json:"name"`
	Region    string                   `json:"region"`
	Created   time.Time                `json:"created"`
	Retention int                      `json:"retention,omitempty"`
	Tags      map[string]string        `json:"tags"`
	Streams   map[string]*logStreamRec `json:"streams"`
}

type logStreamRec struct {
	Name    string     `json:"name"`
	Created time.Time  `json:"created"`
	Events  []logEvent `json:"events"`
}

type logEvent struct {
	ID        int64  `json:"i"`
	Timestamp int64  `json:"t"`
	Ingestion int64  `json:"g"`
	Message   string `json:"m"`
}

func (g *logGroupRec) arn() string {
	return "arn:aws:logs:" + g.Region + ":" + core.AccountID + ":log-group:" + g.Name
}

func (g *logGroupRec) count() int {
	n := 0
	for _, s := range g.Streams {
		n += len(s.Events)
	}
	return n
}

// trim drops the oldest events beyond maxEventsPerGroup.
func (g *logGroupRec) trim() {
	for g.count() > maxEventsPerGroup {
		var oldest *logStreamRec
		for _, s := range g.Streams {
			if len(s.Events) > 0 && (oldest == nil || s.Events[0].Timestamp < oldest.Events[0].Timestamp) {
				oldest = s
			}
		}
		if oldest == nil {
			return
		}
		drop := max(1, len(oldest.Events)/10)
		oldest.Events = append([]logEvent(nil), oldest.Events[drop:]...)
	}
}

// Room is CloudWatch Logs.
type Room struct {
	cloud  *core.Cloud
	mu     sync.Mutex
	groups map[string]*logGroupRec
	seq    int64 // the last event id
	dirty  bool  // groups or events changed since logs.json was written
	stop   chan struct{}
	wg     sync.WaitGroup
}

// New returns the Logs room.
func New() *Room { return &Room{} }

func (*Room) Name() string { return "logs" }

func (r *Room) Open(c *core.Cloud) error {
	r.cloud = c
	r.groups = map[string]*logGroupRec{}
	if err := c.LoadDoc(stateFile, &r.groups, false); err != nil {
		return err
	}
	if r.groups == nil {
		r.groups = map[string]*logGroupRec{}
	}
	for _, g := range r.groups {
		for _, s := range g.Streams {
			for _, e := range s.Events {
				r.seq = max(r.seq, e.ID)
			}
		}
		if g.Streams == nil {
			g.Streams = map[string]*logStreamRec{}
		}
		if g.Tags == nil {
			g.Tags = map[string]string{}
		}
	}
	return nil
}

// Start flushes the events functions write once a second.
func (r *Room) Start() {
	r.stop = make(chan struct{})
	r.wg.Add(1)
	go r.flusher()
}

func (r *Room) flusher() {
	defer r.wg.Done()
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-r.stop:
			return
		case <-t.C:
			r.mu.Lock()
			if err := r.saveLocked(); err != nil {
				r.cloud.Logf("save logs: %v", err)
			}
			r.mu.Unlock()
		}
	}
}

func (r *Room) Close() {
	if r.stop != nil {
		close(r.stop)
		r.wg.Wait()
		r.stop = nil
	}
}

func (r *Room) Save() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.saveLocked()
}

// saveLocked writes logs.json if groups or events changed. r.mu must be held.
func (r *Room) saveLocked() error {
	if !r.dirty {
		return nil
	}
	if err := r.cloud.SaveDoc(stateFile, r.groups); err != nil {
		return err
	}
	r.dirty = false
	return nil
}

// changedLocked saves logs.json after a Logs API change. r.mu must be held.
func (r *Room) changedLocked() {
	r.dirty = true
	if err := r.saveLocked(); err != nil {
		r.cloud.Logf("save logs: %v", err)
	}
}

func (r *Room) Resources(match func(map[string]string) bool) []core.Resource {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []core.Resource
	for _, g := range r.groups {
		if match(g.Tags) {
			out = append(out, core.Resource{Service: "logs", Type: "log-group", Name: g.Name, ARN: g.arn(), Tags: core.CopyMap(g.Tags)})
		}
	}
	return out
}

// AppendFunctionLog records a line a function printed, as Lambda ships it to CloudWatch
// Logs (core.FunctionLogs).
func (r *Room) AppendFunctionLog(fn, region, stream, line string) {
	r.AppendLogLine(region, "/aws/lambda/"+fn, stream, line)
}

// AppendLogLine records a line a program the cloud runs printed (an ECS task's awslogs
// driver: core.LogLines), creating the group and stream when missing.
func (r *Room) AppendLogLine(region, name, stream, line string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	g := r.groups[name]
	if g == nil {
		g = &logGroupRec{Name: name, Region: region, Created: time.Now().UTC(), Tags: map[string]string{}, Streams: map[string]*logStreamRec{}}
		r.groups[name] = g
	}
	s := g.Streams[stream]
	if s == nil {
		s = &logStreamRec{Name: stream, Created: time.Now().UTC()}
		g.Streams[stream] = s
	}
	now := time.Now().UnixMilli()
	s.Events = append(s.Events, logEvent{ID: r.nextSeq(), Timestamp: now, Ingestion: now, Message: line})
	g.trim()
	r.dirty = true
}

func (r *Room) nextSeq() int64 {
	r.seq++
	return r.seq
}

func (*Room) Guess(req *http.Request) bool {
	return strings.HasPrefix(req.Header.Get("X-Amz-Target"), "Logs_")
}

func (*Room) Route(q *core.Request) (string, bool) { return q.JSON11Target("Logs_20140328") }

func (*Room) Unknown(q *core.Request) {
	q.JSON11Error(http.StatusBadRequest, "UnknownOperationException", "localcloud does not implement Logs "+q.Op)
}

func (*Room) Throttle(q *core.Request) {
	q.JSON11Error(http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
}

func (*Room) Fail(q *core.Request) {
	q.JSON11Error(http.StatusInternalServerError, "ServiceUnavailableException", "localcloud: injected fault")
}

// input is the union of the fields the Logs operations take.
type input struct {
	LogGroupName        string            `json:"logGroupName"`
	LogGroupIdentifier  string            `json:"logGroupIdentifier"`
	LogGroupNamePrefix  string            `json:"logGroupNamePrefix"`
	LogGroupNamePattern string            `json:"logGroupNamePattern"`
	LogStreamName       string            `json:"logStreamName"`
	LogStreamNamePrefix string            `json:"logStreamNamePrefix"`
	LogStreamNames      []string          `json:"logStreamNames"`
	Tags                map[string]string `json:"tags"`
	TagKeys             []string          `json:"tagKeys"`
	ResourceArn         string            `json:"resourceArn"`
	RetentionInDays     int               `json:"retentionInDays"`
	NextToken           string            `json:"nextToken"`
	Limit               int               `json:"limit"`
	OrderBy             string            `json:"orderBy"`
	Descending          bool              `json:"descending"`
	StartTime           *int64            `json:"startTime"`
	EndTime             *int64            `json:"endTime"`
	StartFromHead       bool              `json:"startFromHead"`
	FilterPattern       string            `json:"filterPattern"`
	LogEvents           []struct {
		Timestamp int64  `json:"timestamp"`
		Message   string `json:"message"`
	} `json:"logEvents"`
}

// decode reads the call's input; false = answered.
func decode(q *core.Request) (*input, bool) {
	in := &input{}
	b, err := core.ReadLimited(q.R.Body, 2<<20)
	if err != nil {
		q.JSON11Error(http.StatusRequestEntityTooLarge, "InvalidParameterException", "request too large")
		return nil, false
	}
	if len(strings.TrimSpace(string(b))) > 0 {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(b, &raw); err != nil {
			q.JSON11Error(http.StatusBadRequest, "SerializationException", err.Error())
			return nil, false
		}
		// UntagLogGroup sends its keys as "tags": [..]; decode that field separately.
		if q.Op == "UntagLogGroup" {
			var keys []string
			_ = json.Unmarshal(raw["tags"], &keys)
			in.TagKeys = keys
			delete(raw, "tags")
			b, _ = json.Marshal(raw)
		}
		if err := json.Unmarshal(b, in); err != nil {
			q.JSON11Error(http.StatusBadRequest, "SerializationException", err.Error())
			return nil, false
		}
	}
	if in.LogGroupName == "" && in.LogGroupIdentifier != "" {
		in.LogGroupName = in.LogGroupIdentifier
		if i := strings.Index(in.LogGroupName, ":log-group:"); i >= 0 {
			in.LogGroupName = strings.TrimSuffix(in.LogGroupName[i+len(":log-group:"):], ":*")
		}
	}
	return in, true
}

// with decodes the input and runs h under the room's lock.
func (r *Room) with(h func(q *core.Request, in *input)) func(*core.Request) {
	return func(q *core.Request) {
		in, ok := decode(q)
		if !ok {
			return
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		h(q, in)
	}
}

// onGroup is with on the log group the input names (ResourceNotFound when it is not there).
func (r *Room) onGroup(h func(q *core.Request, in *input, g *logGroupRec)) func(*core.Request) {
	return r.with(func(q *core.Request, in *input) {
		if g := r.group(q, in.LogGroupName); g != nil {
			h(q, in, g)
		}
	})
}

// onStream is onGroup on the log stream the input names.
func (r *Room) onStream(h func(q *core.Request, in *input, g *logGroupRec, s *logStreamRec)) func(*core.Request) {
	return r.onGroup(func(q *core.Request, in *input, g *logGroupRec) {
		s := g.Streams[in.LogStreamName]
		if s == nil {
			q.JSON11Error(http.StatusBadRequest, "ResourceNotFoundException", "The specified log stream does not exist.")
			return
		}
		h(q, in, g, s)
	})
}

// onTagged serves both tagging APIs: the current ones name the group by ARN, the legacy
// *LogGroup ones by name.
func (r *Room) onTagged(h func(q *core.Request, in *input, g *logGroupRec)) func(*core.Request) {
	return r.with(func(q *core.Request, in *input) {
		var g *logGroupRec
		if strings.HasSuffix(q.Op, "LogGroup") {
			g = r.group(q, in.LogGroupName)
		} else {
			g = r.groupByARN(q, in.ResourceArn)
		}
		if g != nil {
			h(q, in, g)
		}
	})
}

func (r *Room) group(q *core.Request, name string) *logGroupRec {
	g := r.groups[name]
	if g == nil {
		q.JSON11Error(http.StatusBadRequest, "ResourceNotFoundException", "The specified log group does not exist.")
	}
	return g
}

func (r *Room) groupByARN(q *core.Request, arn string) *logGroupRec {
	i := strings.Index(arn, ":log-group:")
	if i < 0 {
		q.JSON11Error(http.StatusBadRequest, "InvalidParameterException", "Invalid resource ARN: "+arn)
		return nil
	}
	return r.group(q, strings.TrimSuffix(arn[i+len(":log-group:"):], ":*"))
}

// listAnswer is a list answer with its nextToken, present only when there is a next page.
func listAnswer(key string, items []map[string]any, next string) map[string]any {
	resp := map[string]any{key: items}
	if next != "" {
		resp["nextToken"] = next
	}
	return resp
}
