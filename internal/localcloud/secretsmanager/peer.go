package secretsmanager

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/rudderctl/rudderctl/internal/localcloud/core"
)

// SecretValue resolves an ECS secret's valueFrom (core.Secrets).
func (r *Room) SecretValue(region, valueFrom string) (string, error) {
	id, jsonKey, stage, versionID, err := splitValueFrom(valueFrom)
	if err != nil {
		return "", err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.purgeExpiredLocked()
	s := r.find(region, id)
	if s == nil {
		return "", errors.New("ResourceNotFoundException: Secrets Manager can't find the specified secret.")
	}
	if s.scheduledForDeletion() {
		return "", errors.New("InvalidRequestException: You can't perform this operation on the secret because it was marked for deletion.")
	}
	v, msg := pickVersion(s, versionID, stage)
	if v == nil {
		return "", errors.New("ResourceNotFoundException: " + msg)
	}
	s.Accessed = time.Now().UTC().Truncate(24 * time.Hour)
	if v.String == nil {
		return "", fmt.Errorf("secret %s holds a binary value; ECS reads only string secrets", s.ARN)
	}
	if jsonKey == "" {
		return *v.String, nil
	}
	return jsonField(*v.String, jsonKey, s.ARN)
}

// splitValueFrom splits "arn:aws:secretsmanager:region:acct:secret:name-XXXXXX[:json-key[:stage[:version-id]]]".
func splitValueFrom(valueFrom string) (id, jsonKey, stage, versionID string, err error) {
	if !strings.HasPrefix(valueFrom, "arn:") {
		if valueFrom == "" {
			return "", "", "", "", errors.New("empty valueFrom: name a Secrets Manager secret ARN")
		}
		return valueFrom, "", "", "", nil
	}
	parts := strings.Split(valueFrom, ":")
	if len(parts) < 7 || parts[2] != "secretsmanager" || parts[5] != "secret" {
		if len(parts) > 2 && parts[2] == "ssm" {
			return "", "", "", "", fmt.Errorf("valueFrom %s is an SSM parameter: the local cloud resolves Secrets Manager secrets only", valueFrom)
		}
		return "", "", "", "", fmt.Errorf("valueFrom %s is not a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME[:json-key:version-stage:version-id])", valueFrom)
	}
	if len(parts) > 10 {
		return "", "", "", "", fmt.Errorf("valueFrom %s has too many parts: after the secret ARN come at most json-key:version-stage:version-id", valueFrom)
	}
	id = strings.Join(parts[:7], ":")
	rest := append(parts[7:], "", "", "")
	return id, rest[0], rest[1], rest[2], nil
}

// jsonField is one key of a secret holding a JSON object, as ECS extracts it: a string as
// it is, anything else as its JSON text.
func jsonField(doc, key, arn string) (string, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		return "", fmt.Errorf("secret %s is not a JSON object, so json key %q cannot be read from it", arn, key)
	}
	raw, ok := m[key]
	if !ok {
		return "", fmt.Errorf("retrieved secret from Secrets Manager did not contain json key %s", key)
	}
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s, nil
	}
	return string(raw), nil
}

// CreateServiceSecret creates a secret another service owns (core.Secrets).
func (r *Room) CreateServiceSecret(region, name, value, owningService, kmsKeyID string, tags map[string]string) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !validName(name) {
		return "", fmt.Errorf("invalid secret name %q", name)
	}
	if r.find(region, name) != nil {
		return "", fmt.Errorf("ResourceExistsException: The operation failed because the secret %s already exists.", name)
	}
	t := map[string]string{}
	for k, v := range tags {
		t[k] = v
	}
	s := r.addLocked(region, name, "", kmsKeyID, owningService, t)
	addVersion(s, "", &value, nil, nil)
	r.commitLocked()
	return s.ARN, nil
}

// DeleteServiceSecret deletes a service's secret at once (core.Secrets).
func (r *Room) DeleteServiceSecret(arn string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, ok := r.st.Secrets[arn]; ok {
		delete(r.st.Secrets, arn)
		r.commitLocked()
	}
}

var _ core.Secrets = (*Room)(nil)
