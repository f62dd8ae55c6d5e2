package ecr

import (
	"strings"
	"testing"
	"time"
)

func repoWith(now time.Time, images map[string]time.Duration, tags map[string]string) *repoRec {
	p := &repoRec{Images: map[string]*imageRec{}, ImageTags: tags}
	for d, age := range images {
		p.Images[d] = &imageRec{Digest: d, Pushed: now.Add(-age)}
	}
	return p
}

// TestPolicyPriority: an image a higher-priority rule selected is not counted again by a
// later rule, so "any, keep 1" after "tagged v*, keep 1" keeps the untagged image.
func TestPolicyPriority(t *testing.T) {
	now := time.Now()
	p := repoWith(now, map[string]time.Duration{"v1": 3 * time.Hour, "v2": 2 * time.Hour, "u": time.Hour},
		map[string]string{"v1": "v1", "v2": "v2"})
	p.Policy = `{"rules":[
	  {"rulePriority":1,"selection":{"tagStatus":"tagged","tagPrefixList":["v"],"countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}},
	  {"rulePriority":9,"selection":{"tagStatus":"any","countType":"imageCountMoreThan","countNumber":1},"action":{"type":"expire"}}]}`
	gone := p.applyPolicyLocked(now)
	if strings.Join(gone, ",") != "v1" || p.Images["v2"] == nil || p.Images["u"] == nil {
		t.Fatalf("expired %v, left %v", gone, p.Images)
	}
	if _, ok := p.ImageTags["v1"]; ok {
		t.Fatal("the expired image's tag stayed")
	}
}

// TestPolicySincePushed: sinceImagePushed expires what is older than countNumber days.
func TestPolicySincePushed(t *testing.T) {
	now := time.Now()
	day := 24 * time.Hour
	p := repoWith(now, map[string]time.Duration{"old": 10 * day, "mid": 2 * day, "new": 0}, map[string]string{"old": "old", "new": "new"})
	p.Policy = `{"rules":[{"rulePriority":1,"selection":{"tagStatus":"untagged","countType":"sinceImagePushed","countUnit":"days","countNumber":1},"action":{"type":"expire"}},
	  {"rulePriority":2,"selection":{"tagStatus":"tagged","tagPatternList":["o*"],"countType":"sinceImagePushed","countUnit":"days","countNumber":5},"action":{"type":"expire"}}]}`
	gone := p.applyPolicyLocked(now)
	if strings.Join(gone, ",") != "mid,old" || p.Images["new"] == nil {
		t.Fatalf("expired %v, left %v", gone, p.Images)
	}
}
