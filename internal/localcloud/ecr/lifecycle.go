package ecr

// Lifecycle policies: validated on PutLifecyclePolicy with ECR's rules, evaluated right
// after every manifest push by tag and on PutLifecyclePolicy (AWS evaluates within 24 hours; here it is
// at once, so a test sees the outcome).

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"
)

type policy struct {
	Rules []rule `json:"rules"`
}

type rule struct {
	RulePriority int       `json:"rulePriority"`
	Description  string    `json:"description"`
	Selection    selection `json:"selection"`
	Action       struct {
		Type string `json:"type"`
	} `json:"action"`
}

type selection struct {
	TagStatus      string   `json:"tagStatus"`
	TagPrefixList  []string `json:"tagPrefixList"`
	TagPatternList []string `json:"tagPatternList"`
	CountType      string   `json:"countType"`
	CountUnit      string   `json:"countUnit"`
	CountNumber    int      `json:"countNumber"`
}

// parsePolicy reads and validates a lifecycle policy document; the rules come back in
// priority order.
func parsePolicy(text string) (*policy, error) {
	if strings.TrimSpace(text) == "" {
		return nil, errors.New("the policy text is empty")
	}
	dec := json.NewDecoder(bytes.NewReader([]byte(text)))
	dec.DisallowUnknownFields()
	var p policy
	if err := dec.Decode(&p); err != nil {
		return nil, fmt.Errorf("not a lifecycle policy document: %v", err)
	}
	if len(p.Rules) == 0 {
		return nil, errors.New("the policy has no rules")
	}
	seen := map[int]bool{}
	for i, r := range p.Rules {
		if err := r.validate(); err != nil {
			return nil, fmt.Errorf("rule %d: %v", i+1, err)
		}
		if seen[r.RulePriority] {
			return nil, fmt.Errorf("rulePriority %d is used twice", r.RulePriority)
		}
		seen[r.RulePriority] = true
	}
	sort.Slice(p.Rules, func(i, j int) bool { return p.Rules[i].RulePriority < p.Rules[j].RulePriority })
	for i, r := range p.Rules {
		if r.Selection.TagStatus == "any" && i != len(p.Rules)-1 {
			return nil, errors.New("a rule with tagStatus any must have the highest rulePriority")
		}
	}
	return &p, nil
}

func (r rule) validate() error {
	s := r.Selection
	if r.RulePriority < 1 {
		return errors.New("rulePriority must be a positive integer")
	}
	if r.Action.Type != "expire" {
		return fmt.Errorf("action type %q is not supported (only expire)", r.Action.Type)
	}
	switch s.TagStatus {
	case "tagged":
		if len(s.TagPrefixList) == 0 && len(s.TagPatternList) == 0 {
			return errors.New("tagStatus tagged needs tagPrefixList or tagPatternList")
		}
	case "untagged", "any":
		if len(s.TagPrefixList) > 0 || len(s.TagPatternList) > 0 {
			return fmt.Errorf("tagPrefixList and tagPatternList go only with tagStatus tagged, not %s", s.TagStatus)
		}
	default:
		return fmt.Errorf("tagStatus %q must be tagged, untagged or any", s.TagStatus)
	}
	if s.CountNumber < 1 {
		return errors.New("countNumber must be at least 1")
	}
	switch s.CountType {
	case "imageCountMoreThan":
		if s.CountUnit != "" {
			return errors.New("countUnit goes only with countType sinceImagePushed")
		}
	case "sinceImagePushed":
		if s.CountUnit != "days" {
			return errors.New("countType sinceImagePushed needs countUnit days")
		}
	default:
		return fmt.Errorf("countType %q must be imageCountMoreThan or sinceImagePushed", s.CountType)
	}
	return nil
}

// selects reports whether the rule's tag selection takes an image with these tags.
func (s selection) selects(tags []string) bool {
	switch s.TagStatus {
	case "untagged":
		return len(tags) == 0
	case "any":
		return true
	}
	for _, t := range tags {
		for _, pre := range s.TagPrefixList {
			if strings.HasPrefix(t, pre) {
				return true
			}
		}
		for _, pat := range s.TagPatternList {
			if ok, _ := path.Match(pat, t); ok {
				return true
			}
		}
	}
	return false
}

// applyPolicyLocked expires the images the repository's lifecycle policy selects and
// returns their digests. As in ECR, rules run in priority order and an image that a rule
// selected is not considered again by a rule of lower priority; within a rule,
// imageCountMoreThan keeps the newest countNumber images it selected and
// sinceImagePushed expires those pushed more than countNumber days ago. The images an
// index of the repository lists are never expired while it lists them. r.mu held.
func (p *repoRec) applyPolicyLocked(now time.Time) []string {
	if p.Policy == "" {
		return nil
	}
	pol, err := parsePolicy(p.Policy)
	if err != nil {
		return nil // validated on Put; a stored policy always parses
	}
	p.PolicyEval = now
	claimed := map[string]bool{}
	for _, im := range p.Images {
		for _, c := range im.Children {
			claimed[c] = true
		}
	}
	var expired []string
	for _, rl := range pol.Rules {
		var picked []*imageRec
		for _, im := range p.sortedImages() { // newest first
			if !claimed[im.Digest] && rl.Selection.selects(p.tagsOf(im.Digest)) {
				picked = append(picked, im)
			}
		}
		for i, im := range picked {
			claimed[im.Digest] = true
			if rl.expires(i, im, now) {
				expired = append(expired, im.Digest)
			}
		}
	}
	for _, d := range expired {
		p.deleteImage(d)
	}
	return expired
}

// expires reports whether a rule expires the i-th newest image it selected.
func (rl rule) expires(i int, im *imageRec, now time.Time) bool {
	s := rl.Selection
	if s.CountType == "imageCountMoreThan" {
		return i >= s.CountNumber
	}
	return now.Sub(im.Pushed) > time.Duration(s.CountNumber)*24*time.Hour
}
