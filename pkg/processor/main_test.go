package processor

import (
	"os"
	"testing"

	"github.com/repotrackr/github-integration/pkg/local/standin"
)

// The package's tests share one dynalite and one set of tables, started and created on
// first use (see testEnv); tests that need them skip under -short.
func TestMain(m *testing.M) { os.Exit(standin.Main(m)) }
