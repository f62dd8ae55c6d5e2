package lambdaapi_test

import (
	"os"
	"testing"

	"github.com/rudderctl/rudderctl/internal/testfn"
)

// TestMain removes the test function testfn built once every test has run.
func TestMain(m *testing.M) {
	code := m.Run()
	testfn.Cleanup()
	os.Exit(code)
}
