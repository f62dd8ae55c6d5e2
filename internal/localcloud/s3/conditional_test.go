package s3

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

// TestPutConditionCheck: the commit-time decision of a conditional PutObject (the end-to-end
// half is TestS3ConditionalWrites in internal/localcloud).
func TestPutConditionCheck(t *testing.T) {
	// 409: the condition held when the request arrived, but another write of the key got
	// in while its body was read (decided at commit time, under the room's lock).
	for _, tc := range []struct {
		cond        putCondition
		before, now *objectRec
		status      int
		code        string
	}{
		{putCondition{ifNoneMatch: true}, nil, &objectRec{ETag: `"b"`}, http.StatusConflict, "ConditionalRequestConflict"},
		{putCondition{ifNoneMatch: true}, &objectRec{ETag: `"a"`}, &objectRec{ETag: `"a"`}, http.StatusPreconditionFailed, "PreconditionFailed"},
		{putCondition{ifMatch: `"a"`}, &objectRec{ETag: `"a"`}, &objectRec{ETag: `"b"`}, http.StatusConflict, "ConditionalRequestConflict"},
		{putCondition{ifMatch: `"a"`}, &objectRec{ETag: `"a"`}, nil, http.StatusConflict, "ConditionalRequestConflict"},
		{putCondition{ifMatch: `"a"`}, nil, nil, http.StatusNotFound, "NoSuchKey"},
	} {
		rec := httptest.NewRecorder()
		q := &core.Request{W: rec, R: httptest.NewRequest(http.MethodPut, "/cond/k", nil)}
		if tc.cond.check(q, tc.before, tc.now, "k") {
			t.Fatalf("%+v: condition held", tc)
		}
		if rec.Code != tc.status || !strings.Contains(rec.Body.String(), "<Code>"+tc.code+"</Code>") {
			t.Fatalf("%+v: %d %s", tc, rec.Code, rec.Body.String())
		}
	}
}
