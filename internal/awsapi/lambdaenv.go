package awsapi

// LambdaReservedEnv are the environment keys Lambda itself sets and refuses in a function's
// configuration ("Defined runtime environment variables" in the Lambda developer guide).
// Other AWS_* keys are not reserved: AWS_NODEJS_CONNECTION_REUSE_ENABLED,
// AWS_LAMBDA_EXEC_WRAPPER, AWS_XRAY_CONTEXT_MISSING... are documented as settable.
// This is the one list: rudderctl's config validation and the local cloud's
// CreateFunction/UpdateFunctionConfiguration both read it.
var LambdaReservedEnv = []string{
	"_HANDLER", "_X_AMZN_TRACE_ID",
	"AWS_DEFAULT_REGION", "AWS_REGION", "AWS_EXECUTION_ENV",
	"AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "AWS_LAMBDA_FUNCTION_VERSION",
	"AWS_LAMBDA_INITIALIZATION_TYPE", "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME",
	"AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
	"AWS_LAMBDA_RUNTIME_API", "LAMBDA_TASK_ROOT", "LAMBDA_RUNTIME_DIR", "TZ",
}

// IsLambdaReservedEnv reports whether Lambda refuses key in a function's environment.
func IsLambdaReservedEnv(key string) bool {
	for _, k := range LambdaReservedEnv {
		if k == key {
			return true
		}
	}
	return false
}

// LambdaEnvCase is one row of the table both sides test against (config validation and
// the local cloud): a key and whether Lambda refuses it.
type LambdaEnvCase struct {
	Key      string
	Reserved bool
}

// LambdaEnvCases are every reserved key plus AWS_* keys Lambda documents as settable.
func LambdaEnvCases() []LambdaEnvCase {
	var cs []LambdaEnvCase
	for _, k := range LambdaReservedEnv {
		cs = append(cs, LambdaEnvCase{k, true})
	}
	for _, k := range []string{"AWS_NODEJS_CONNECTION_REUSE_ENABLED", "AWS_XRAY_CONTEXT_MISSING", "AWS_XRAY_DAEMON_ADDRESS",
		"AWS_LAMBDA_NODEJS_USE_ALTERNATIVE_CLIENT_1", "LOG_LEVEL", "NODE_OPTIONS", "LANG"} {
		cs = append(cs, LambdaEnvCase{k, false})
	}
	return cs
}
