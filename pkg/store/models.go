// Package store keeps RepoTrackr's state in DynamoDB through guregu/dynamo: projects,
// progress snapshots, the project update log, the webhook event log, installations and
// the single-use OAuth states. Every table and index here is declared in template.yaml,
// which is the only list of them (the local stack creates its tables from it).
package store

import (
	"time"

	"github.com/repotrackr/github-integration/pkg/config"
)

// Index names (global secondary indexes).
const (
	IndexProjectsByRepo   = "by_repo"         // projects: hash repo
	IndexProjectsByRepoID = "by_repo_id"      // projects: hash repo_id (projects registered with it)
	IndexProjectsByOwner  = "by_owner"        // projects: hash owner, range created_at
	IndexProjectsByInst   = "by_installation" // projects: hash installation_id
	IndexEventsByTime     = "by_time"         // events: hash log_partition (LogPartition), range received_key
)

// Tables holds the table names.
type Tables struct {
	Projects          string
	Snapshots         string
	Updates           string
	Events            string
	EventStats        string
	Installations     string
	UserInstallations string
	States            string
}

// TablesFrom reads the table names through lookup: config.Env.Lookup in a function,
// which gives each function the tables the registry lists for it, or a map in tests.
func TablesFrom(lookup func(string) string) Tables {
	return Tables{
		Projects:          lookup(config.ProjectsTable),
		Snapshots:         lookup(config.SnapshotsTable),
		Updates:           lookup(config.UpdatesTable),
		Events:            lookup(config.EventsTable),
		EventStats:        lookup(config.EventStatsTable),
		Installations:     lookup(config.InstallationsTable),
		UserInstallations: lookup(config.UserInstallationsTable),
		States:            lookup(config.StatesTable),
	}
}

// Project statuses.
const (
	ProjectPending     = "pending"      // registered, not yet read
	ProjectActive      = "active"       // plan read at LatestSnapshot.CommitSHA
	ProjectPlanMissing = "plan_missing" // the tracked branch has no plan file
	ProjectAccessLost  = "access_lost"  // the installation lost access to the repository
	ProjectSuspended   = "suspended"    // the installation is suspended
	// ProjectPlanTooLarge: the tracked branch's plan is over the processor's size limit
	// (1 MiB); it is not fetched or parsed.
	ProjectPlanTooLarge = "plan_too_large"
)

// Project is a tracked repository. Key: id.
type Project struct {
	ID        string    `dynamo:"id,hash" json:"id"`
	Owner     string    `dynamo:"owner" index:"by_owner,hash" json:"owner"` // RepoTrackr user (JWT sub)
	CreatedAt time.Time `dynamo:"created_at" index:"by_owner,range" json:"created_at"`
	Repo      string    `dynamo:"repo" index:"by_repo,hash" json:"repo"` // owner/name, lower case
	// RepoID is GitHub's repository id, which a rename keeps: deliveries find the
	// project by it, and its Repo follows the name they carry. 0 for projects
	// registered before it was stored, which are found by name until a delivery
	// names the id.
	RepoID         int64  `dynamo:"repo_id,omitempty" index:"by_repo_id,hash" json:"repo_id,omitempty"`
	InstallationID int64  `dynamo:"installation_id" index:"by_installation,hash" json:"installation_id"`
	PlanPath       string `dynamo:"plan_path" json:"plan_path"`
	Branch         string `dynamo:"branch,omitempty" json:"branch"` // empty: the default branch
	IssueLabel     string `dynamo:"issue_label,omitempty" json:"issue_label,omitempty"`
	IssueMilestone string `dynamo:"issue_milestone,omitempty" json:"issue_milestone,omitempty"`

	Status      string    `dynamo:"status" json:"status"`
	StatusError string    `dynamo:"status_error,omitempty" json:"status_error,omitempty"`
	LastUpdated time.Time `dynamo:"last_updated" json:"last_updated"`
	// HeadReadAt is when the read behind LatestSnapshot (or behind a status found by
	// reading the branch, such as a missing branch) asked GitHub for the branch head. It
	// orders reads: one that asked earlier never replaces one that asked later, whatever
	// the commits' times (see ApplySnapshot).
	HeadReadAt     time.Time `dynamo:"head_read_at" json:"-"`
	LatestSnapshot *Snapshot `dynamo:"latest_snapshot,omitempty" json:"latest_snapshot"`

	PullRequests map[string]PullRequestView `dynamo:"pull_requests,omitempty" json:"pull_requests,omitempty"` // key: number
	Issues       map[string]IssueTask       `dynamo:"issues,omitempty" json:"issue_tasks,omitempty"`          // key: number; live tasks only

	// IssuesRemoved holds tombstones of issues that are no task (any more): deleted,
	// transferred, or not matching the project's label/milestone filter, so that an
	// older event delivered late cannot bring them back. Key: number.
	IssuesRemoved map[string]IssueTask `dynamo:"issues_removed,omitempty" json:"-"`
	// IssueSummary counts Issues; PullRequestSummary counts PullRequests by state.
	IssueSummary       IssueSummary       `dynamo:"issue_summary" json:"issues"`
	PullRequestSummary PullRequestSummary `dynamo:"pull_request_summary" json:"pull_request_summary"`
	// Progress is the plan's and the issue tasks' progress, apart and combined.
	Progress ProgressSummary `dynamo:"progress" json:"progress"`
	// Version counts the processor's writes: each is conditional on the version it read
	// (optimistic concurrency; dynalite has no transactions).
	Version int64 `dynamo:"version" json:"-"`
}

// ProgressSummary is a project's progress from its plan and from its issue tasks, each
// on its own and combined. Fractions are 0-1, and 0 when there is nothing to count.
type ProgressSummary struct {
	Plan       float64 `dynamo:"plan" json:"plan"`               // latest_snapshot.progress
	Issues     float64 `dynamo:"issues" json:"issues"`           // issue tasks done / issue tasks
	Combined   float64 `dynamo:"combined" json:"combined"`       // TasksDone / TasksTotal
	TasksTotal int     `dynamo:"tasks_total" json:"tasks_total"` // plan tasks + issue tasks
	TasksDone  int     `dynamo:"tasks_done" json:"tasks_done"`   // done plan tasks + done issue tasks
}

// PullRequestSummary counts a project's pull requests by state.
type PullRequestSummary struct {
	Open   int `dynamo:"open" json:"open"`
	Draft  int `dynamo:"draft" json:"draft"`
	Merged int `dynamo:"merged" json:"merged"`
	Closed int `dynamo:"closed" json:"closed"`
}

// Snapshot is the progress of a project as read at one commit.
// Key: project_id + commit_key ("<commit time RFC3339Nano UTC>#<sha>"), so that a
// retry writes the same item and a query returns snapshots in commit order. Which
// snapshot is the project's latest is decided by ReadAt, not by this order (a force
// push back makes an older commit the latest).
type Snapshot struct {
	ProjectID string    `dynamo:"project_id,hash" json:"-"`
	CommitKey string    `dynamo:"commit_key,range" json:"-"`
	CommitSHA string    `dynamo:"commit_sha" json:"commit_sha"`
	CommitAt  time.Time `dynamo:"commit_at" json:"commit_at"`
	// ReadAt is when the processor asked GitHub for the branch head this snapshot is of
	// (taken before the request is sent): the latest snapshot is the one read last.
	ReadAt     time.Time    `dynamo:"read_at" json:"read_at"`
	PlanPath   string       `dynamo:"plan_path" json:"plan_path"`
	PlanFound  bool         `dynamo:"plan_found" json:"plan_found"`
	TasksTotal int          `dynamo:"tasks_total" json:"tasks_total"`
	TasksDone  int          `dynamo:"tasks_done" json:"tasks_done"`
	Progress   float64      `dynamo:"progress" json:"progress"`
	Sections   []Section    `dynamo:"sections" json:"sections"`
	Issues     IssueSummary `dynamo:"issues" json:"issues"`
	Deps       []Dependency `dynamo:"dependencies" json:"dependencies"`
	Manifests  []string     `dynamo:"manifests,omitempty" json:"manifests,omitempty"`
	// PlanTooLarge is set when the plan file exists but is over the size limit; it was
	// not read (PlanFound is false).
	PlanTooLarge bool `dynamo:"plan_too_large,omitempty" json:"plan_too_large,omitempty"`
	// Truncated is set when Sections or Deps were cut to fit the item (Fit), or when
	// manifests were not read (ManifestsSkipped): what is listed is a part.
	Truncated bool `dynamo:"truncated,omitempty" json:"truncated,omitempty"`
	// SectionsTotal and DepsTotal count what the plan and manifests held, when Fit cut
	// Sections or Deps.
	SectionsTotal int `dynamo:"sections_total,omitempty" json:"sections_total,omitempty"`
	DepsTotal     int `dynamo:"dependencies_total,omitempty" json:"dependencies_total,omitempty"`
	// ManifestsSkipped counts manifests not read: over the size or count limit, or with
	// too long a path.
	ManifestsSkipped int            `dynamo:"manifests_skipped,omitempty" json:"manifests_skipped,omitempty"`
	DeliveryID       string         `dynamo:"delivery_id,omitempty" json:"delivery_id,omitempty"`
	Extra            map[string]int `dynamo:"extra,omitempty" json:"-"`
	// PlanSHA and ManifestSHAs (path to SHA) are the git blob SHAs of the plan and the
	// manifests this snapshot parsed, from the tree listing; ReadVersion is the version
	// of the parsing. A later read takes what a file of the same blob SHA (and path)
	// gave from here instead of fetching it again (pkg/processor, "Reading only what
	// changed"). Symlinks and files read without a listing have none.
	PlanSHA      string            `dynamo:"plan_sha,omitempty" json:"-"`
	ManifestSHAs map[string]string `dynamo:"manifest_shas,omitempty" json:"-"`
	ReadVersion  int               `dynamo:"read_version,omitempty" json:"-"`
}

// Section is one heading's share of the plan.
type Section struct {
	Title      string  `dynamo:"title" json:"title"`
	Level      int     `dynamo:"level" json:"level"`
	TasksTotal int     `dynamo:"tasks_total" json:"tasks_total"`
	TasksDone  int     `dynamo:"tasks_done" json:"tasks_done"`
	Progress   float64 `dynamo:"progress" json:"progress"`
}

// Dependency is one dependency found in a manifest.
type Dependency struct {
	Name      string `dynamo:"name" json:"name"`
	Version   string `dynamo:"version,omitempty" json:"version,omitempty"`
	Ecosystem string `dynamo:"ecosystem" json:"ecosystem"` // e.g. "Go modules", "npm", "PyPI", "crates.io", "Docker"
	Manifest  string `dynamo:"manifest" json:"manifest"`   // path of the manifest it came from
}

// IssueSummary counts the issue-based tasks of a project.
type IssueSummary struct {
	Total int `dynamo:"total" json:"total"`
	Open  int `dynamo:"open" json:"open"`
	Done  int `dynamo:"done" json:"done"`
}

// PullRequestView is the current state of one pull request.
type PullRequestView struct {
	Number    int       `dynamo:"number" json:"number"`
	Title     string    `dynamo:"title" json:"title"`
	State     string    `dynamo:"state" json:"state"` // open, draft, merged, closed
	Author    string    `dynamo:"author,omitempty" json:"author,omitempty"`
	UpdatedAt time.Time `dynamo:"updated_at" json:"updated_at"`
}

// IssueTask is one issue counted as a task.
type IssueTask struct {
	Number    int       `dynamo:"number" json:"number"`
	Title     string    `dynamo:"title" json:"title"`
	Done      bool      `dynamo:"done" json:"done"`
	UpdatedAt time.Time `dynamo:"updated_at" json:"updated_at"`
	// Removed is set on tombstones (Project.IssuesRemoved): deleted, transferred or filtered.
	Removed string `dynamo:"removed,omitempty" json:"removed,omitempty"`
}

// Update is one entry of a project's update log.
// Key: project_id + update_key ("<received_at RFC3339Nano UTC>#<delivery_id>"): deterministic,
// so a retried delivery rewrites the same entry instead of appending a second one.
type Update struct {
	ProjectID  string    `dynamo:"project_id,hash" json:"project_id"`
	UpdateKey  string    `dynamo:"update_key,range" json:"-"`
	EventType  string    `dynamo:"event_type" json:"event_type"`
	Action     string    `dynamo:"action,omitempty" json:"action,omitempty"`
	DeliveryID string    `dynamo:"delivery_id" json:"delivery_id"`
	JobID      string    `dynamo:"job_id" json:"job_id"` // the SQS message id (or "api" for registration)
	CommitSHA  string    `dynamo:"commit_sha,omitempty" json:"commit_sha,omitempty"`
	Summary    string    `dynamo:"summary,omitempty" json:"summary,omitempty"`
	At         time.Time `dynamo:"at" json:"at"`
}

// Event statuses in the webhook event log.
const (
	EventQueued     = "queued"
	EventProcessing = "processing" // in-progress marker; expires at LeaseUntil
	EventProcessed  = "processed"
	EventIgnored    = "ignored"
	EventDuplicate  = "duplicate"
	EventFailed     = "failed"
)

// EventLogPartition is the by_time partition key of the log's shard 0 (LogPartition
// gives an entry's); the other shards' keys are built on it.
const EventLogPartition = "all"

// Event is one entry of the webhook event log. Key: delivery_id.
// A delivery received again after it was done is logged as its own entry with status
// "duplicate", keyed "<delivery_id>#dup#<sqs message id>", and DuplicateOf set.
type Event struct {
	DeliveryID     string     `dynamo:"delivery_id,hash" json:"delivery_id"`
	LogPartition   string     `dynamo:"log_partition" index:"by_time,hash" json:"-"`
	ReceivedKey    string     `dynamo:"received_key" index:"by_time,range" json:"-"` // "<received_at RFC3339Nano UTC>#<delivery_id>"
	EventType      string     `dynamo:"event_type" json:"event_type"`
	Action         string     `dynamo:"action,omitempty" json:"action"`
	Repo           string     `dynamo:"repo,omitempty" json:"repository"`
	InstallationID int64      `dynamo:"installation_id,omitempty" json:"installation_id"`
	Status         string     `dynamo:"status" json:"status"`
	Reason         string     `dynamo:"reason,omitempty" json:"reason,omitempty"` // why ignored
	ReceivedAt     time.Time  `dynamo:"received_at" json:"received_at"`
	StartedAt      *time.Time `dynamo:"started_at,omitempty" json:"started_at,omitempty"`
	ProcessedAt    *time.Time `dynamo:"processed_at,omitempty" json:"processed_at"`
	LeaseUntil     *time.Time `dynamo:"lease_until,omitempty,unixtime" json:"-"` // epoch seconds, so that conditions compare numbers
	Attempts       int        `dynamo:"attempts" json:"attempts"`
	Error          string     `dynamo:"error,omitempty" json:"error"`
	DuplicateOf    string     `dynamo:"duplicate_of,omitempty" json:"duplicate_of,omitempty"`
	Envelope       string     `dynamo:"envelope,omitempty" json:"-"`   // the queued JSON
	ExpiresAt      int64      `dynamo:"expires_at,omitempty" json:"-"` // TTL, epoch seconds
	// ErrorCode is the stable reason code of a failure (e.g. github_unavailable,
	// rate_limited, internal): what callers who are not operators see instead of Error.
	ErrorCode string `dynamo:"error_code,omitempty" json:"error_code,omitempty"`
}

// Installation is a GitHub App installation. Key: installation_id.
type Installation struct {
	InstallationID      int64      `dynamo:"installation_id,hash" json:"installation_id"`
	AccountLogin        string     `dynamo:"account_login" json:"account_login"`
	AccountType         string     `dynamo:"account_type,omitempty" json:"account_type"`
	AccountID           int64      `dynamo:"account_id,omitempty" json:"account_id,omitempty"`
	RepositorySelection string     `dynamo:"repository_selection,omitempty" json:"repository_selection"`
	Repositories        []string   `dynamo:"repositories,set,omitempty" json:"repositories"` // full names, lower case
	Status              string     `dynamo:"status" json:"status"`                           // active, suspended, deleted
	SuspendedAt         *time.Time `dynamo:"suspended_at,omitempty" json:"suspended_at,omitempty"`
	UpdatedAt           time.Time  `dynamo:"updated_at" json:"updated_at"`
	// SyncedAtMs is when the processor read this state from GitHub (epoch milliseconds):
	// a write based on an older read is refused.
	SyncedAtMs int64 `dynamo:"synced_at_ms,omitempty" json:"-"`
}

// Installation statuses.
const (
	InstallationActive    = "active"
	InstallationSuspended = "suspended"
	InstallationDeleted   = "deleted"
)

// UserInstallation links a RepoTrackr user to an installation they proved access to.
// Key: user_id + installation_id.
type UserInstallation struct {
	UserID         string `dynamo:"user_id,hash" json:"user_id"`
	InstallationID int64  `dynamo:"installation_id,range" json:"installation_id"`
	GitHubLogin    string `dynamo:"github_login,omitempty" json:"github_login,omitempty"`
	// GitHubUserID is the id of that GitHub user: a login can pass to another account
	// after a rename, the id never does.
	GitHubUserID int64     `dynamo:"github_user_id,omitempty" json:"github_user_id,omitempty"`
	LinkedAt     time.Time `dynamo:"linked_at" json:"linked_at"`
}

// State is a single-use installation state. Key: id. Deleted (conditionally) when used.
type State struct {
	ID        string    `dynamo:"id,hash"`
	UserID    string    `dynamo:"user_id"`
	ExpiresAt int64     `dynamo:"expires_at"` // TTL, epoch seconds
	CreatedAt time.Time `dynamo:"created_at"`
}
