// Package envelope defines the slim message the ingest function puts on the events
// queue and the processor reads back. It carries only what processing needs, so that
// every delivery fits in one SQS message whatever the size of GitHub's payload.
//
// The fields of each event's section and the rules that shrink an envelope to fit one
// message are listed in ../ingest/README.md.
package envelope

import "time"

// Version is the envelope schema version. The processor refuses versions it does not know.
const Version = 1

// Message attribute names set on every queued message beside the JSON body.
const (
	AttrDeliveryID = "github_delivery_id"
	AttrEventType  = "github_event_type"
)

// Envelope is one GitHub delivery as queued for the processor.
type Envelope struct {
	Version        int       `json:"v"`
	DeliveryID     string    `json:"delivery_id"`
	EventType      string    `json:"event_type"`
	Action         string    `json:"action,omitempty"`
	InstallationID int64     `json:"installation_id,omitempty"`
	Repository     *Repo     `json:"repository,omitempty"`
	Sender         string    `json:"sender,omitempty"`
	ReceivedAt     time.Time `json:"received_at"`

	Push         *Push         `json:"push,omitempty"`
	PullRequest  *PullRequest  `json:"pull_request,omitempty"`
	Issue        *Issue        `json:"issue,omitempty"`
	Installation *Installation `json:"installation,omitempty"`
}

// Repo identifies a repository.
type Repo struct {
	ID            int64  `json:"id,omitempty"`
	FullName      string `json:"full_name"`
	DefaultBranch string `json:"default_branch,omitempty"`
	Private       bool   `json:"private,omitempty"`
}

// Push is what a push event carries for the processor.
type Push struct {
	Ref     string `json:"ref"`
	Before  string `json:"before,omitempty"`
	After   string `json:"after,omitempty"`
	Created bool   `json:"created,omitempty"`
	Deleted bool   `json:"deleted,omitempty"`
	Forced  bool   `json:"forced,omitempty"`
	// HeadCommitAt is the head commit's timestamp, when the payload has one.
	HeadCommitAt *time.Time `json:"head_commit_at,omitempty"`
	// Paths is the sorted union of added, modified and removed paths over all commits.
	Paths []string `json:"paths,omitempty"`
	// PathsIncomplete is set when Paths may miss changed paths: GitHub capped the
	// commit list (2048 commits), the push was forced (dropped commits are listed
	// nowhere), the ref moved without any commit listed (created at or reset to an
	// existing commit), or the list was dropped to fit one SQS message.
	// The processor then treats the push as relevant.
	PathsIncomplete bool `json:"paths_incomplete,omitempty"`
}

// PullRequest is the state of a pull request after the event.
type PullRequest struct {
	Number    int        `json:"number"`
	State     string     `json:"state"` // open or closed
	Draft     bool       `json:"draft,omitempty"`
	Merged    bool       `json:"merged,omitempty"`
	Title     string     `json:"title"`
	Labels    []string   `json:"labels,omitempty"`
	Milestone string     `json:"milestone,omitempty"`
	Author    string     `json:"author,omitempty"`
	HeadRef   string     `json:"head_ref,omitempty"`
	BaseRef   string     `json:"base_ref,omitempty"`
	CreatedAt *time.Time `json:"created_at,omitempty"`
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
	ClosedAt  *time.Time `json:"closed_at,omitempty"`
	MergedAt  *time.Time `json:"merged_at,omitempty"`
}

// Issue is the state of an issue after the event.
type Issue struct {
	Number    int        `json:"number"`
	State     string     `json:"state"` // open or closed
	Title     string     `json:"title"`
	Labels    []string   `json:"labels,omitempty"`
	Milestone string     `json:"milestone,omitempty"`
	CreatedAt *time.Time `json:"created_at,omitempty"`
	UpdatedAt *time.Time `json:"updated_at,omitempty"`
	ClosedAt  *time.Time `json:"closed_at,omitempty"`
}

// Installation is what installation and installation_repositories events carry.
type Installation struct {
	ID                  int64      `json:"id"`
	AccountLogin        string     `json:"account_login,omitempty"`
	AccountType         string     `json:"account_type,omitempty"` // User or Organization
	AccountID           int64      `json:"account_id,omitempty"`
	RepositorySelection string     `json:"repository_selection,omitempty"` // all or selected
	SuspendedAt         *time.Time `json:"suspended_at,omitempty"`
	// Repositories lists the full names the event names: for installation.created the
	// repositories granted, for installation_repositories the ones added.
	Repositories []string `json:"repositories,omitempty"`
	// RepositoriesRemoved lists full names removed (installation_repositories.removed).
	RepositoriesRemoved []string `json:"repositories_removed,omitempty"`
	// RepositoriesIncomplete is set when the lists were dropped to fit one SQS message;
	// the processor then re-reads the installation's repositories from GitHub.
	RepositoriesIncomplete bool `json:"repositories_incomplete,omitempty"`
}
