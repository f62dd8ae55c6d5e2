// Package arns parses the ARNs more than one room of the local cloud reads: a Lambda
// function reference is taken by Lambda and by API Gateway's integrations.
package arns

import (
	"regexp"
	"strings"
)

var (
	functionNameRE = regexp.MustCompile(`^[a-zA-Z0-9-_]{1,64}$`)
	qualifierRE    = regexp.MustCompile(`^(\$LATEST|[a-zA-Z0-9-_]{1,128})$`)
)

// ValidFunctionName reports whether s is a Lambda function name.
func ValidFunctionName(s string) bool { return functionNameRE.MatchString(s) }

// ParseFunctionRef accepts a Lambda function reference as Lambda and API Gateway take it:
// name, name:qualifier, ACCOUNT:function:name[:q] and full ARNs.
func ParseFunctionRef(s string) (name, qualifier string, ok bool) {
	parts := strings.Split(s, ":")
	switch {
	case len(parts) == 1:
		name = parts[0]
	case len(parts) == 2:
		name, qualifier = parts[0], parts[1]
	case len(parts) >= 7 && parts[0] == "arn" && parts[5] == "function":
		name = parts[6]
		if len(parts) == 8 {
			qualifier = parts[7]
		} else if len(parts) > 8 {
			return "", "", false
		}
	case len(parts) >= 3 && parts[1] == "function":
		name = parts[2]
		if len(parts) == 4 {
			qualifier = parts[3]
		} else if len(parts) > 4 {
			return "", "", false
		}
	default:
		return "", "", false
	}
	return name, qualifier, functionNameRE.MatchString(name) && (qualifier == "" || qualifierRE.MatchString(qualifier))
}
