package health

import (
	"os"
	"testing"

	"github.com/repotrackr/github-integration/pkg/local/standin"
)

// The SDK tests run against a fauxqs started on first use; they skip under -short.
func TestMain(m *testing.M) { os.Exit(standin.Main(m)) }
