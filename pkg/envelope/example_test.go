package envelope_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	"github.com/repotrackr/github-integration/pkg/envelope"
)

// Build keeps only what the processor needs from a verified payload; Marshal writes it
// within the SQS budget. For a push, the paths of all commits become one sorted list.
func Example() {
	payload := []byte(`{
	  "ref": "refs/heads/main",
	  "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
	  "after": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
	  "commits": [
	    {"id": "1a2b", "added": ["docs/plan.md"], "modified": [], "removed": []},
	    {"id": "3c4d", "added": [], "modified": ["go.mod", "docs/plan.md"], "removed": ["old.txt"]}
	  ],
	  "head_commit": {"id": "3c4d", "timestamp": "2026-03-01T12:00:00+01:00"},
	  "repository": {"id": 42, "full_name": "octo/app", "default_branch": "main", "private": true},
	  "installation": {"id": 7},
	  "sender": {"login": "octocat"}
	}`)
	received := time.Date(2026, 3, 1, 11, 0, 1, 0, time.UTC)

	env, err := envelope.Build("push", "72d3162e-cc78-11e3-81ab-4c9367dc0958", payload, received)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(env.Repository.FullName, env.InstallationID, env.Push.Ref, env.Push.Paths)

	msg, err := env.Marshal(envelope.MaxBodyBytes)
	if err != nil {
		fmt.Println(err)
		return
	}
	var out bytes.Buffer
	if err := json.Indent(&out, msg, "", "  "); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(out.String())
	// Output:
	// octo/app 7 refs/heads/main [docs/plan.md go.mod old.txt]
	// {
	//   "v": 1,
	//   "delivery_id": "72d3162e-cc78-11e3-81ab-4c9367dc0958",
	//   "event_type": "push",
	//   "installation_id": 7,
	//   "repository": {
	//     "id": 42,
	//     "full_name": "octo/app",
	//     "default_branch": "main",
	//     "private": true
	//   },
	//   "sender": "octocat",
	//   "received_at": "2026-03-01T11:00:01Z",
	//   "push": {
	//     "ref": "refs/heads/main",
	//     "before": "6113728f27ae82c7b1a177c8d03f9e96e0adf246",
	//     "after": "0d1a26e67d8f5eaf1f6ba5c57fc3c7d91ac0fd1c",
	//     "head_commit_at": "2026-03-01T11:00:00Z",
	//     "paths": [
	//       "docs/plan.md",
	//       "go.mod",
	//       "old.txt"
	//     ]
	//   }
	// }
}

// An envelope that does not fit the budget is shrunk rather than refused: the path list
// goes first, and paths_incomplete tells the processor to read the plan anyway.
func ExampleEnvelope_Marshal() {
	payload := []byte(`{"ref": "refs/heads/main", "before": "a1", "after": "b2",
	  "commits": [{"added": ["docs/plan.md", "a/very/long/path/that/does/not/fit.go"]}],
	  "repository": {"id": 42, "full_name": "octo/app"}}`)
	env, err := envelope.Build("push", "d1", payload, time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC))
	if err != nil {
		fmt.Println(err)
		return
	}
	full, _ := env.Marshal(envelope.MaxBodyBytes)
	small, err := env.Marshal(len(full) - 1)
	fmt.Println(len(small) < len(full), err)
	fmt.Println(string(small))
	// Output:
	// true <nil>
	// {"v":1,"delivery_id":"d1","event_type":"push","repository":{"id":42,"full_name":"octo/app"},"received_at":"2026-03-01T11:00:00Z","push":{"ref":"refs/heads/main","before":"a1","after":"b2","paths_incomplete":true}}
}
