package localcloud

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"
)

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
	return "arn:aws:logs:" + g.Region + ":" + AccountID + ":log-group:" + g.Name
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

func (q *request) jsonError(status int, code, msg string) {
	q.writeJSON(status, "application/x-amz-json-1.1", map[string]string{"__type": code, "message": msg})
}

func (q *request) logsJSON(v any) { q.writeJSON(http.StatusOK, "application/x-amz-json-1.1", v) }

var retentionDays = map[int]bool{1: true, 3: true, 5: true, 7: true, 14: true, 30: true, 60: true, 90: true, 120: true,
	150: true, 180: true, 365: true, 400: true, 545: true, 731: true, 1096: true, 1827: true, 2192: true, 2557: true,
	2922: true, 3288: true, 3653: true}

// appendFunctionLog records a line a function printed, as Lambda ships it to CloudWatch Logs.
func (c *Cloud) appendFunctionLog(fn, region, stream, line string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	name := "/aws/lambda/" + fn
	g := c.st.LogGroups[name]
	if g == nil {
		g = &logGroupRec{Name: name, Region: region, Created: time.Now().UTC(), Tags: map[string]string{}, Streams: map[string]*logStreamRec{}}
		c.st.LogGroups[name] = g
	}
	s := g.Streams[stream]
	if s == nil {
		s = &logStreamRec{Name: stream, Created: time.Now().UTC()}
		g.Streams[stream] = s
	}
	now := time.Now().UnixMilli()
	s.Events = append(s.Events, logEvent{ID: c.nextSeq(), Timestamp: now, Ingestion: now, Message: line})
	g.trim()
	c.dirty = true
}

func (c *Cloud) serveLogs(q *request) {
	target := q.r.Header.Get("X-Amz-Target")
	op, ok := strings.CutPrefix(target, "Logs_20140328.")
	if !ok {
		q.op = "?"
		q.jsonError(http.StatusBadRequest, "UnknownOperationException", "Unknown target "+target)
		return
	}
	if !q.begin(op) {
		return
	}
	var in struct {
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
	b, err := readLimited(q.r.Body, 2<<20)
	if err != nil {
		q.jsonError(http.StatusRequestEntityTooLarge, "InvalidParameterException", "request too large")
		return
	}
	if len(strings.TrimSpace(string(b))) > 0 {
		var raw map[string]json.RawMessage
		if err := json.Unmarshal(b, &raw); err != nil {
			q.jsonError(http.StatusBadRequest, "SerializationException", err.Error())
			return
		}
		// UntagLogGroup sends its keys as "tags": [..]; decode that field separately.
		if op == "UntagLogGroup" {
			var keys []string
			_ = json.Unmarshal(raw["tags"], &keys)
			in.TagKeys = keys
			delete(raw, "tags")
			b, _ = json.Marshal(raw)
		}
		if err := json.Unmarshal(b, &in); err != nil {
			q.jsonError(http.StatusBadRequest, "SerializationException", err.Error())
			return
		}
	}
	if in.LogGroupName == "" && in.LogGroupIdentifier != "" {
		in.LogGroupName = in.LogGroupIdentifier
		if i := strings.Index(in.LogGroupName, ":log-group:"); i >= 0 {
			in.LogGroupName = strings.TrimSuffix(in.LogGroupName[i+len(":log-group:"):], ":*")
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	group := func(name string) *logGroupRec {
		g := c.st.LogGroups[name]
		if g == nil {
			q.jsonError(http.StatusBadRequest, "ResourceNotFoundException", "The specified log group does not exist.")
		}
		return g
	}
	groupByARN := func(arn string) *logGroupRec {
		i := strings.Index(arn, ":log-group:")
		if i < 0 {
			q.jsonError(http.StatusBadRequest, "InvalidParameterException", "Invalid resource ARN: "+arn)
			return nil
		}
		return group(strings.TrimSuffix(arn[i+len(":log-group:"):], ":*"))
	}
	// taggedGroup serves both tagging APIs: the current ones name the group by ARN, the
	// legacy *LogGroup ones by name.
	taggedGroup := func() *logGroupRec {
		if strings.HasSuffix(op, "LogGroup") {
			return group(in.LogGroupName)
		}
		return groupByARN(in.ResourceArn)
	}
	limit := in.Limit
	switch op {
	case "CreateLogGroup":
		if in.LogGroupName == "" || len(in.LogGroupName) > 512 {
			q.jsonError(http.StatusBadRequest, "InvalidParameterException", "1 validation error detected: Value at 'logGroupName' failed to satisfy constraint")
			return
		}
		if c.st.LogGroups[in.LogGroupName] != nil {
			q.jsonError(http.StatusBadRequest, "ResourceAlreadyExistsException", "The specified log group already exists")
			return
		}
		if in.Tags == nil {
			in.Tags = map[string]string{}
		}
		c.st.LogGroups[in.LogGroupName] = &logGroupRec{Name: in.LogGroupName, Region: q.region, Created: time.Now().UTC(), Tags: in.Tags, Streams: map[string]*logStreamRec{}}
		c.logsChangedLocked()
		q.logsJSON(map[string]any{})
	case "DeleteLogGroup":
		if group(in.LogGroupName) == nil {
			return
		}
		delete(c.st.LogGroups, in.LogGroupName)
		c.logsChangedLocked()
		q.logsJSON(map[string]any{})
	case "DescribeLogGroups":
		var names []string
		for n := range c.st.LogGroups {
			if strings.HasPrefix(n, in.LogGroupNamePrefix) && (in.LogGroupNamePattern == "" || strings.Contains(n, in.LogGroupNamePattern)) {
				names = append(names, n)
			}
		}
		sort.Strings(names)
		if limit <= 0 || limit > 50 {
			limit = 50
		}
		start, end, next := pageIndex(len(names), in.NextToken, strconv.Itoa(limit), 50)
		out := []map[string]any{}
		for _, n := range names[start:end] {
			g := c.st.LogGroups[n]
			m := map[string]any{
				"logGroupName": g.Name, "creationTime": g.Created.UnixMilli(), "metricFilterCount": 0,
				"arn": g.arn() + ":*", "logGroupArn": g.arn(), "storedBytes": 0, "logGroupClass": "STANDARD",
			}
			if g.Retention > 0 {
				m["retentionInDays"] = g.Retention
			}
			out = append(out, m)
		}
		q.logsJSON(listAnswer("logGroups", out, next))
	case "PutRetentionPolicy":
		g := group(in.LogGroupName)
		if g == nil {
			return
		}
		if !retentionDays[in.RetentionInDays] {
			q.jsonError(http.StatusBadRequest, "InvalidParameterException", fmt.Sprintf("1 validation error detected: Value '%d' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]", in.RetentionInDays))
			return
		}
		g.Retention = in.RetentionInDays
		c.logsChangedLocked()
		q.logsJSON(map[string]any{})
	case "DeleteRetentionPolicy":
		g := group(in.LogGroupName)
		if g == nil {
			return
		}
		g.Retention = 0
		c.logsChangedLocked()
		q.logsJSON(map[string]any{})
	case "TagResource", "TagLogGroup":
		g := taggedGroup()
		if g == nil {
			return
		}
		for k, v := range in.Tags {
			g.Tags[k] = v
		}
		c.logsChangedLocked()
		q.logsJSON(map[string]any{})
	case "UntagResource", "UntagLogGroup":
		g := taggedGroup()
		if g == nil {
			return
		}
		for _, k := range in.TagKeys {
			delete(g.Tags, k)
		}
		c.logsChangedLocked()
		q.logsJSON(map[string]any{})
	case "ListTagsForResource", "ListTagsLogGroup":
		g := taggedGroup()
		if g != nil {
			q.logsJSON(map[string]any{"tags": g.Tags})
		}
	case "CreateLogStream":
		g := group(in.LogGroupName)
		if g == nil {
			return
		}
		if in.LogStreamName == "" || strings.ContainsAny(in.LogStreamName, ":*") {
			q.jsonError(http.StatusBadRequest, "InvalidParameterException", "Invalid log stream name")
			return
		}
		if g.Streams[in.LogStreamName] != nil {
			q.jsonError(http.StatusBadRequest, "ResourceAlreadyExistsException", "The specified log stream already exists")
			return
		}
		g.Streams[in.LogStreamName] = &logStreamRec{Name: in.LogStreamName, Created: time.Now().UTC()}
		c.logsChangedLocked()
		q.logsJSON(map[string]any{})
	case "DeleteLogStream":
		g := group(in.LogGroupName)
		if g == nil {
			return
		}
		if g.Streams[in.LogStreamName] == nil {
			q.jsonError(http.StatusBadRequest, "ResourceNotFoundException", "The specified log stream does not exist.")
			return
		}
		delete(g.Streams, in.LogStreamName)
		c.logsChangedLocked()
		q.logsJSON(map[string]any{})
	case "DescribeLogStreams":
		g := group(in.LogGroupName)
		if g == nil {
			return
		}
		var list []*logStreamRec
		for _, s := range g.Streams {
			if strings.HasPrefix(s.Name, in.LogStreamNamePrefix) {
				list = append(list, s)
			}
		}
		lastEvent := func(s *logStreamRec) int64 {
			if len(s.Events) == 0 {
				return 0
			}
			return s.Events[len(s.Events)-1].Timestamp
		}
		sort.Slice(list, func(i, j int) bool {
			less := list[i].Name < list[j].Name
			if in.OrderBy == "LastEventTime" {
				a, b := lastEvent(list[i]), lastEvent(list[j])
				if a != b {
					less = a < b
				}
			}
			if in.Descending {
				return !less
			}
			return less
		})
		if limit <= 0 || limit > 50 {
			limit = 50
		}
		start, end, next := pageIndex(len(list), in.NextToken, strconv.Itoa(limit), 50)
		out := []map[string]any{}
		for _, s := range list[start:end] {
			m := map[string]any{
				"logStreamName": s.Name, "creationTime": s.Created.UnixMilli(), "storedBytes": 0,
				"arn": g.arn() + ":log-stream:" + s.Name,
			}
			if n := len(s.Events); n > 0 {
				m["firstEventTimestamp"] = s.Events[0].Timestamp
				m["lastEventTimestamp"] = s.Events[n-1].Timestamp
				m["lastIngestionTime"] = s.Events[n-1].Ingestion
			}
			out = append(out, m)
		}
		q.logsJSON(listAnswer("logStreams", out, next))
	case "PutLogEvents":
		g := group(in.LogGroupName)
		if g == nil {
			return
		}
		s := g.Streams[in.LogStreamName]
		if s == nil {
			q.jsonError(http.StatusBadRequest, "ResourceNotFoundException", "The specified log stream does not exist.")
			return
		}
		now := time.Now().UnixMilli()
		for _, e := range in.LogEvents {
			s.Events = append(s.Events, logEvent{ID: c.nextSeq(), Timestamp: e.Timestamp, Ingestion: now, Message: e.Message})
		}
		sort.SliceStable(s.Events, func(i, j int) bool { return s.Events[i].Timestamp < s.Events[j].Timestamp })
		g.trim()
		c.logsChangedLocked()
		q.logsJSON(map[string]any{"nextSequenceToken": strconv.FormatInt(c.st.Seq, 10)})
	case "GetLogEvents":
		g := group(in.LogGroupName)
		if g == nil {
			return
		}
		s := g.Streams[in.LogStreamName]
		if s == nil {
			q.jsonError(http.StatusBadRequest, "ResourceNotFoundException", "The specified log stream does not exist.")
			return
		}
		var evs []logEvent
		for _, e := range s.Events {
			if (in.StartTime == nil || e.Timestamp >= *in.StartTime) && (in.EndTime == nil || e.Timestamp < *in.EndTime) {
				evs = append(evs, e)
			}
		}
		if limit <= 0 || limit > 10000 {
			limit = 10000
		}
		var start, end int
		switch {
		case strings.HasPrefix(in.NextToken, "f/"):
			start, _ = strconv.Atoi(in.NextToken[2:])
			start = min(max(start, 0), len(evs))
			end = min(start+limit, len(evs))
		case strings.HasPrefix(in.NextToken, "b/"):
			end, _ = strconv.Atoi(in.NextToken[2:])
			end = min(max(end, 0), len(evs))
			start = max(end-limit, 0)
		case in.StartFromHead:
			start, end = 0, min(limit, len(evs))
		default:
			end = len(evs)
			start = max(end-limit, 0)
		}
		out := []map[string]any{}
		for _, e := range evs[start:end] {
			out = append(out, map[string]any{"timestamp": e.Timestamp, "message": e.Message, "ingestionTime": e.Ingestion})
		}
		q.logsJSON(map[string]any{
			"events":            out,
			"nextForwardToken":  "f/" + strconv.Itoa(end),
			"nextBackwardToken": "b/" + strconv.Itoa(start),
		})
	case "FilterLogEvents":
		g := group(in.LogGroupName)
		if g == nil {
			return
		}
		match := filterMatcher(in.FilterPattern)
		wanted := map[string]bool{}
		for _, n := range in.LogStreamNames {
			wanted[n] = true
		}
		type hit struct {
			stream string
			e      logEvent
		}
		var hits []hit
		var searched []map[string]any
		for _, s := range g.Streams {
			if len(wanted) > 0 && !wanted[s.Name] || !strings.HasPrefix(s.Name, in.LogStreamNamePrefix) {
				continue
			}
			searched = append(searched, map[string]any{"logStreamName": s.Name, "searchedCompletely": true})
			for _, e := range s.Events {
				if (in.StartTime == nil || e.Timestamp >= *in.StartTime) && (in.EndTime == nil || e.Timestamp <= *in.EndTime) && match(e.Message) {
					hits = append(hits, hit{s.Name, e})
				}
			}
		}
		sort.Slice(hits, func(i, j int) bool {
			if hits[i].e.Timestamp != hits[j].e.Timestamp {
				return hits[i].e.Timestamp < hits[j].e.Timestamp
			}
			return hits[i].e.ID < hits[j].e.ID
		})
		// nextToken = "<timestamp>/<id>" of the last event returned.
		if ts, id, ok := strings.Cut(in.NextToken, "/"); ok {
			t, _ := strconv.ParseInt(ts, 10, 64)
			n, _ := strconv.ParseInt(id, 10, 64)
			i := sort.Search(len(hits), func(i int) bool {
				h := hits[i].e
				return h.Timestamp > t || h.Timestamp == t && h.ID > n
			})
			hits = hits[i:]
		}
		if limit <= 0 || limit > 10000 {
			limit = 10000
		}
		resp := map[string]any{}
		if len(hits) > limit {
			last := hits[limit-1].e
			resp["nextToken"] = fmt.Sprintf("%d/%d", last.Timestamp, last.ID)
			hits = hits[:limit]
		}
		out := []map[string]any{}
		for _, h := range hits {
			out = append(out, map[string]any{
				"logStreamName": h.stream, "timestamp": h.e.Timestamp, "message": h.e.Message,
				"ingestionTime": h.e.Ingestion, "eventId": strconv.FormatInt(h.e.ID, 10),
			})
		}
		if searched == nil {
			searched = []map[string]any{}
		}
		resp["events"] = out
		resp["searchedLogStreams"] = searched
		q.logsJSON(resp)
	default:
		q.jsonError(http.StatusBadRequest, "UnknownOperationException", "localcloud does not implement Logs "+op)
	}
}

// filterMatcher implements the plain-text part of CloudWatch filter patterns: a quoted
// pattern is one substring; otherwise every space-separated term must occur.
func filterMatcher(p string) func(string) bool {
	p = strings.TrimSpace(p)
	if p == "" {
		return func(string) bool { return true }
	}
	if len(p) >= 2 && p[0] == '"' && p[len(p)-1] == '"' {
		sub := p[1 : len(p)-1]
		return func(s string) bool { return strings.Contains(s, sub) }
	}
	terms := strings.Fields(p)
	return func(s string) bool {
		for _, t := range terms {
			if !strings.Contains(s, strings.Trim(t, `"`)) {
				return false
			}
		}
		return true
	}
}

// logsChangedLocked saves logs.json after a Logs API change. c.mu must be held.
func (c *Cloud) logsChangedLocked() {
	c.dirty = true
	if err := c.saveLogsLocked(); err != nil {
		c.logf("save logs: %v", err)
	}
}

// listAnswer is a list answer with its nextToken, present only when there is a next page.
func listAnswer(key string, items []map[string]any, next string) map[string]any {
	resp := map[string]any{key: items}
	if next != "" {
		resp["nextToken"] = next
	}
	return resp
}
