package logs

import (
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

// Ops is the Logs operation table.
func (r *Room) Ops() []core.Op {
	return []core.Op{
		core.Write("CreateLogGroup", r.with(r.createLogGroup)),
		core.Write("DeleteLogGroup", r.onGroup(r.deleteLogGroup)),
		core.Read("DescribeLogGroups", r.with(r.describeLogGroups)),
		core.Write("PutRetentionPolicy", r.onGroup(r.putRetentionPolicy)),
		core.Write("DeleteRetentionPolicy", r.onGroup(r.deleteRetentionPolicy)),
		core.Write("TagResource", r.onTagged(r.tag)),
		core.Write("TagLogGroup", r.onTagged(r.tag)),
		core.Write("UntagResource", r.onTagged(r.untag)),
		core.Write("UntagLogGroup", r.onTagged(r.untag)),
		core.Read("ListTagsForResource", r.onTagged(listTags)),
		core.Read("ListTagsLogGroup", r.onTagged(listTags)),
		core.Write("CreateLogStream", r.onGroup(r.createLogStream)),
		core.Write("DeleteLogStream", r.onStream(r.deleteLogStream)),
		core.Read("DescribeLogStreams", r.onGroup(describeLogStreams)),
		core.Write("PutLogEvents", r.onStream(r.putLogEvents)),
		core.Read("GetLogEvents", r.onStream(getLogEvents)),
		core.Read("FilterLogEvents", r.onGroup(filterLogEvents)),
	}
}

var retentionDays = map[int]bool{1: true, 3: true, 5: true, 7: true, 14: true, 30: true, 60: true, 90: true, 120: true,
	150: true, 180: true, 365: true, 400: true, 545: true, 731: true, 1096: true, 1827: true, 2192: true, 2557: true,
	2922: true, 3288: true, 3653: true}

func (r *Room) createLogGroup(q *core.Request, in *input) {
	if in.LogGroupName == "" || len(in.LogGroupName) > 512 {
		q.JSON11Error(http.StatusBadRequest, "InvalidParameterException", "1 validation error detected: Value at 'logGroupName' failed to satisfy constraint")
		return
	}
	if r.groups[in.LogGroupName] != nil {
		q.JSON11Error(http.StatusBadRequest, "ResourceAlreadyExistsException", "The specified log group already exists")
		return
	}
	if in.Tags == nil {
		in.Tags = map[string]string{}
	}
	r.groups[in.LogGroupName] = &logGroupRec{Name: in.LogGroupName, Region: q.Region, Created: time.Now().UTC(), Tags: in.Tags, Streams: map[string]*logStreamRec{}}
	r.changedLocked()
	q.JSON11(map[string]any{})
}

func (r *Room) deleteLogGroup(q *core.Request, in *input, g *logGroupRec) {
	delete(r.groups, g.Name)
	r.changedLocked()
	q.JSON11(map[string]any{})
}

// limit is the input's page size, def when absent or over def.
func limit(in *input, def int) int {
	if in.Limit <= 0 || in.Limit > def {
		return def
	}
	return in.Limit
}

func (r *Room) describeLogGroups(q *core.Request, in *input) {
	var names []string
	for n := range r.groups {
		if strings.HasPrefix(n, in.LogGroupNamePrefix) && (in.LogGroupNamePattern == "" || strings.Contains(n, in.LogGroupNamePattern)) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	start, end, next := core.PageIndex(len(names), in.NextToken, strconv.Itoa(limit(in, 50)), 50)
	out := []map[string]any{}
	for _, n := range names[start:end] {
		g := r.groups[n]
		m := map[string]any{
			"logGroupName": g.Name, "creationTime": g.Created.UnixMilli(), "metricFilterCount": 0,
			"arn": g.arn() + ":*", "logGroupArn": g.arn(), "storedBytes": 0, "logGroupClass": "STANDARD",
		}
		if g.Retention > 0 {
			m["retentionInDays"] = g.Retention
		}
		out = append(out, m)
	}
	q.JSON11(listAnswer("logGroups", out, next))
}

func (r *Room) putRetentionPolicy(q *core.Request, in *input, g *logGroupRec) {
	if !retentionDays[in.RetentionInDays] {
		q.JSON11Error(http.StatusBadRequest, "InvalidParameterException", fmt.Sprintf("1 validation error detected: Value '%d' at 'retentionInDays' failed to satisfy constraint: Member must satisfy enum value set: [1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653]", in.RetentionInDays))
		return
	}
	g.Retention = in.RetentionInDays
	r.changedLocked()
	q.JSON11(map[string]any{})
}

func (r *Room) deleteRetentionPolicy(q *core.Request, _ *input, g *logGroupRec) {
	g.Retention = 0
	r.changedLocked()
	q.JSON11(map[string]any{})
}

func (r *Room) tag(q *core.Request, in *input, g *logGroupRec) {
	for k, v := range in.Tags {
		g.Tags[k] = v
	}
	r.changedLocked()
	q.JSON11(map[string]any{})
}

func (r *Room) untag(q *core.Request, in *input, g *logGroupRec) {
	for _, k := range in.TagKeys {
		delete(g.Tags, k)
	}
	r.changedLocked()
	q.JSON11(map[string]any{})
}

func listTags(q *core.Request, _ *input, g *logGroupRec) {
	q.JSON11(map[string]any{"tags": g.Tags})
}

func (r *Room) createLogStream(q *core.Request, in *input, g *logGroupRec) {
	if in.LogStreamName == "" || strings.ContainsAny(in.LogStreamName, ":*") {
		q.JSON11Error(http.StatusBadRequest, "InvalidParameterException", "Invalid log stream name")
		return
	}
	if g.Streams[in.LogStreamName] != nil {
		q.JSON11Error(http.StatusBadRequest, "ResourceAlreadyExistsException", "The specified log stream already exists")
		return
	}
	g.Streams[in.LogStreamName] = &logStreamRec{Name: in.LogStreamName, Created: time.Now().UTC()}
	r.changedLocked()
	q.JSON11(map[string]any{})
}

func (r *Room) deleteLogStream(q *core.Request, _ *input, g *logGroupRec, s *logStreamRec) {
	delete(g.Streams, s.Name)
	r.changedLocked()
	q.JSON11(map[string]any{})
}

func describeLogStreams(q *core.Request, in *input, g *logGroupRec) {
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
	start, end, next := core.PageIndex(len(list), in.NextToken, strconv.Itoa(limit(in, 50)), 50)
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
	q.JSON11(listAnswer("logStreams", out, next))
}

func (r *Room) putLogEvents(q *core.Request, in *input, g *logGroupRec, s *logStreamRec) {
	now := time.Now().UnixMilli()
	for _, e := range in.LogEvents {
		s.Events = append(s.Events, logEvent{ID: r.nextSeq(), Timestamp: e.Timestamp, Ingestion: now, Message: e.Message})
	}
	sort.SliceStable(s.Events, func(i, j int) bool { return s.Events[i].Timestamp < s.Events[j].Timestamp })
	g.trim()
	r.changedLocked()
	q.JSON11(map[string]any{"nextSequenceToken": strconv.FormatInt(r.seq, 10)})
}

func getLogEvents(q *core.Request, in *input, _ *logGroupRec, s *logStreamRec) {
	var evs []logEvent
	for _, e := range s.Events {
		if (in.StartTime == nil || e.Timestamp >= *in.StartTime) && (in.EndTime == nil || e.Timestamp < *in.EndTime) {
			evs = append(evs, e)
		}
	}
	n := limit(in, 10000)
	var start, end int
	switch {
	case strings.HasPrefix(in.NextToken, "f/"):
		start, _ = strconv.Atoi(in.NextToken[2:])
		start = min(max(start, 0), len(evs))
		end = min(start+n, len(evs))
	case strings.HasPrefix(in.NextToken, "b/"):
		end, _ = strconv.Atoi(in.NextToken[2:])
		end = min(max(end, 0), len(evs))
		start = max(end-n, 0)
	case in.StartFromHead:
		start, end = 0, min(n, len(evs))
	default:
		end = len(evs)
		start = max(end-n, 0)
	}
	out := []map[string]any{}
	for _, e := range evs[start:end] {
		out = append(out, map[string]any{"timestamp": e.Timestamp, "message": e.Message, "ingestionTime": e.Ingestion})
	}
	q.JSON11(map[string]any{
		"events":            out,
		"nextForwardToken":  "f/" + strconv.Itoa(end),
		"nextBackwardToken": "b/" + strconv.Itoa(start),
	})
}

type hit struct {
	stream string
	e      logEvent
}

func filterLogEvents(q *core.Request, in *input, g *logGroupRec) {
	match := filterMatcher(in.FilterPattern)
	wanted := map[string]bool{}
	for _, n := range in.LogStreamNames {
		wanted[n] = true
	}
	var hits []hit
	searched := []map[string]any{}
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
	hits = afterToken(hits, in.NextToken)
	n := limit(in, 10000)
	resp := map[string]any{}
	if len(hits) > n {
		last := hits[n-1].e
		resp["nextToken"] = fmt.Sprintf("%d/%d", last.Timestamp, last.ID)
		hits = hits[:n]
	}
	out := []map[string]any{}
	for _, h := range hits {
		out = append(out, map[string]any{
			"logStreamName": h.stream, "timestamp": h.e.Timestamp, "message": h.e.Message,
			"ingestionTime": h.e.Ingestion, "eventId": strconv.FormatInt(h.e.ID, 10),
		})
	}
	resp["events"] = out
	resp["searchedLogStreams"] = searched
	q.JSON11(resp)
}

// afterToken drops the hits up to FilterLogEvents' nextToken, "<timestamp>/<id>" of the
// last event returned.
func afterToken(hits []hit, token string) []hit {
	ts, id, ok := strings.Cut(token, "/")
	if !ok {
		return hits
	}
	t, _ := strconv.ParseInt(ts, 10, 64)
	n, _ := strconv.ParseInt(id, 10, 64)
	i := sort.Search(len(hits), func(i int) bool {
		h := hits[i].e
		return h.Timestamp > t || h.Timestamp == t && h.ID > n
	})
	return hits[i:]
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
