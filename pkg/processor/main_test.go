package processor

import (
	"os"
	"testing"

	"github.com/repotrackr/github-integration/pkg/local/standin"
)

// The package's tests share one dynalite and one set of tables, started and created on
// first use (see testEnv); tests that need them skip under -short. The test binary also
// serves as the memory benchmark's GitHub sandbox when run as its child process.
func TestMain(m *testing.M) {
	if root := os.Getenv(sandboxChildEnv); root != "" {
		os.Exit(runSandboxChild(root))
	}
	os.Exit(standin.Main(m))
}
