package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"unicode"

	"github.com/aws/aws-lambda-go/events"

	"github.com/repotrackr/github-integration/pkg/ghapp"
	"github.com/repotrackr/github-integration/pkg/httpapi"
	"github.com/repotrackr/github-integration/pkg/store"
)

// DefaultPlanPath is the plan file a project tracks unless told otherwise.
const DefaultPlanPath = "docs/plan.md"

// Field limits of a project registration.
const (
	maxPlanPath  = 1024
	maxBranch    = 255
	maxLabel     = 100 // GitHub's limit for label names
	maxMilestone = 255
)

// projectIDPattern: project ids are 16 random bytes in hex. Anything else cannot be a
// project, so it is "not found" without a table read.
var projectIDPattern = regexp.MustCompile(`^[0-9a-f]{32}$`)

var errProjectNotFound = httpapi.Fail(http.StatusNotFound, "project not found", nil)

// createProjectRequest is the body of POST /projects.
type createProjectRequest struct {
	Repo           string `json:"repo"`
	PlanPath       string `json:"plan_path"`
	Branch         string `json:"branch"`
	IssueLabel     string `json:"issue_label"`
	IssueMilestone string `json:"issue_milestone"`
}

// createProject registers a project on a repository one of the caller's installations
// can read, and reads it once so that it starts with a snapshot.
func (a *API) createProject(ctx context.Context, r *request) (events.APIGatewayV2HTTPResponse, error) {
	in, err := readProjectRequest(r)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	parse := ghapp.ParseRepo
	if a.gh != nil {
		parse = a.gh.ParseRepo
	}
	owner, name, err := parse(in.Repo)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, httpapi.Fail(http.StatusBadRequest, "repo must be owner/name or a GitHub repository URL", err)
	}
	if a.gh == nil {
		return events.APIGatewayV2HTTPResponse{}, errAppNotConfigured
	}
	ctx = ghapp.WithAuditUser(ctx, r.user)
	inst, repo, err := a.accessibleInstallation(ctx, r.user, owner, name)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	full := repo.FullName
	if full == "" {
		full = owner + "/" + name
	}
	p, err := a.store.CreateProject(ctx, store.Project{
		ID:             newProjectID(),
		Owner:          r.user,
		Repo:           full,
		RepoID:         repo.ID, // deliveries find the project by it, whatever the repository's name then
		InstallationID: inst,
		PlanPath:       in.PlanPath,
		Branch:         in.Branch,
		IssueLabel:     in.IssueLabel,
		IssueMilestone: in.IssueMilestone,
	})
	var exists *store.ProjectExistsError
	if errors.As(err, &exists) {
		return events.APIGatewayV2HTTPResponse{}, httpapi.Fail(http.StatusConflict,
			"a project for this repository already exists: "+exists.ID, err)
	}
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	a.audit(ctx, "project_created", r.user, "ok", slog.String("project_id", p.ID),
		slog.String("repo", p.Repo), slog.Int64("installation_id", inst))
	if a.cfg.Syncer != nil {
		// The registration stands even when the first read fails: the project stays
		// pending and its next webhook reads it.
		synced, err := a.cfg.Syncer.SyncProject(ctx, p, "api-"+r.req.RequestContext.RequestID)
		if err != nil {
			r.log.Warn("first read of the project failed", slog.String("project_id", p.ID), slog.String("err", err.Error()))
		} else {
			p = synced
		}
	}
	return httpapi.JSON(http.StatusCreated, fullProjectView(p)), nil
}

func newProjectID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // never fails (crypto/rand, Go 1.24+)
	return hex.EncodeToString(b)
}

// readProjectRequest reads and validates the body of POST /projects.
func readProjectRequest(r *request) (createProjectRequest, error) {
	if ct := httpapi.Header(r.req, "Content-Type"); ct != "" {
		if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" {
			return createProjectRequest{}, httpapi.Fail(http.StatusUnsupportedMediaType, "content type must be application/json", nil)
		}
	}
	body, err := httpapi.Body(r.req)
	if err != nil {
		return createProjectRequest{}, err
	}
	if len(body) > maxBody {
		return createProjectRequest{}, httpapi.Fail(http.StatusRequestEntityTooLarge, "body too large", nil)
	}
	const shape = "body must be a JSON object with repo and optionally plan_path, branch, issue_label, issue_milestone"
	var in createProjectRequest
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&in); err != nil {
		return createProjectRequest{}, httpapi.Fail(http.StatusBadRequest, shape, err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return createProjectRequest{}, httpapi.Fail(http.StatusBadRequest, "body must hold one JSON object", nil)
	}
	// Duplicate names and invalid UTF-8, which encoding/json lets through.
	if err := httpapi.StrictJSON(body); err != nil {
		return createProjectRequest{}, httpapi.Fail(http.StatusBadRequest, shape, err)
	}
	in.Repo = strings.TrimSpace(in.Repo)
	if in.Repo == "" {
		return createProjectRequest{}, httpapi.Fail(http.StatusBadRequest, "repo is required", nil)
	}
	if in.PlanPath, err = validPlanPath(in.PlanPath); err != nil {
		return createProjectRequest{}, err
	}
	if in.Branch, err = validBranch(in.Branch); err != nil {
		return createProjectRequest{}, err
	}
	if in.IssueLabel, err = validText("issue_label", in.IssueLabel, maxLabel); err != nil {
		return createProjectRequest{}, err
	}
	if in.IssueMilestone, err = validText("issue_milestone", in.IssueMilestone, maxMilestone); err != nil {
		return createProjectRequest{}, err
	}
	return in, nil
}

// validPlanPath: a path inside the repository, relative, without "." or ".." segments;
// empty means DefaultPlanPath.
func validPlanPath(p string) (string, error) {
	if p == "" {
		return DefaultPlanPath, nil
	}
	bad := func(why string) (string, error) {
		return "", httpapi.Fail(http.StatusBadRequest, "plan_path "+why, nil)
	}
	switch {
	case len(p) > maxPlanPath:
		return bad(fmt.Sprintf("is longer than %d bytes", maxPlanPath))
	case strings.HasPrefix(p, "/"):
		return bad("must be relative to the repository root (no leading slash)")
	case strings.HasSuffix(p, "/"):
		return bad("must name a file, not a directory")
	case strings.ContainsRune(p, '\\'):
		return bad("must use forward slashes")
	case hasControl(p):
		return bad("must not contain control characters")
	}
	for _, seg := range strings.Split(p, "/") {
		switch seg {
		case "..":
			return bad(`must not contain ".."`)
		case "", ".":
			return bad("must not contain empty or \".\" segments")
		}
	}
	return p, nil
}

// validBranch applies git's rules for branch names (git check-ref-format) that matter
// here; empty means the default branch.
func validBranch(b string) (string, error) {
	b = strings.TrimPrefix(strings.TrimSpace(b), "refs/heads/")
	if b == "" {
		return "", nil
	}
	bad := func() (string, error) {
		return "", httpapi.Fail(http.StatusBadRequest, "branch is not a valid git branch name", nil)
	}
	if len(b) > maxBranch || hasControl(b) || strings.ContainsAny(b, " ~^:?*[\\") ||
		strings.Contains(b, "..") || strings.Contains(b, "@{") || strings.Contains(b, "//") ||
		strings.HasPrefix(b, "/") || strings.HasSuffix(b, "/") || strings.HasPrefix(b, "-") ||
		strings.HasSuffix(b, ".") || strings.HasSuffix(b, ".lock") || b == "@" {
		return bad()
	}
	for _, seg := range strings.Split(b, "/") {
		if strings.HasPrefix(seg, ".") {
			return bad()
		}
	}
	return b, nil
}

func validText(field, v string, max int) (string, error) {
	v = strings.TrimSpace(v)
	if len(v) > max {
		return "", httpapi.Fail(http.StatusBadRequest, fmt.Sprintf("%s is longer than %d bytes", field, max), nil)
	}
	if hasControl(v) {
		return "", httpapi.Fail(http.StatusBadRequest, field+" must not contain control characters", nil)
	}
	return v, nil
}

func hasControl(s string) bool {
	return strings.ContainsFunc(s, unicode.IsControl)
}

// ownedProject reads the project named in the path if the caller owns it. Another
// user's project is "not found", like one that does not exist, so that ids reveal
// nothing.
func (a *API) ownedProject(ctx context.Context, r *request) (store.Project, error) {
	id := r.params[paramProjectID]
	if !projectIDPattern.MatchString(id) {
		return store.Project{}, errProjectNotFound
	}
	p, err := a.store.GetProject(ctx, id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Project{}, errProjectNotFound
	}
	if err != nil {
		return store.Project{}, err
	}
	if p.Owner != r.user {
		return store.Project{}, errProjectNotFound
	}
	return p, nil
}

func (a *API) getProject(ctx context.Context, r *request) (events.APIGatewayV2HTTPResponse, error) {
	p, err := a.ownedProject(ctx, r)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	return httpapi.JSON(http.StatusOK, fullProjectView(p)), nil
}

func (a *API) listProjects(ctx context.Context, r *request) (events.APIGatewayV2HTTPResponse, error) {
	limit, cursor, err := pageParams(r)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	list, next, err := a.store.ProjectsByOwner(ctx, r.user, limit, cursor)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, pageError(err)
	}
	out := make([]projectView, 0, len(list))
	for _, p := range list {
		out = append(out, projectSummaryView(p))
	}
	return httpapi.JSON(http.StatusOK, map[string]any{"projects": out, "next_cursor": next}), nil
}

func (a *API) deleteProject(ctx context.Context, r *request) (events.APIGatewayV2HTTPResponse, error) {
	p, err := a.ownedProject(ctx, r)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	err = a.store.DeleteProject(ctx, p.ID, r.user)
	if errors.Is(err, store.ErrNotFound) {
		return events.APIGatewayV2HTTPResponse{}, errProjectNotFound // deleted meanwhile
	}
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	a.audit(ctx, "project_deleted", r.user, "ok", slog.String("project_id", p.ID), slog.String("repo", p.Repo))
	// The project is gone for good; its history is unreachable, and removed within a
	// budget so that the request stays short.
	n, more, err := a.store.PurgeProjectHistory(ctx, p.ID, a.cfg.PurgeBudget)
	switch {
	case err != nil:
		r.log.Warn("purge of the project's history failed", slog.String("project_id", p.ID), slog.Int("deleted", n), slog.String("err", err.Error()))
	case more:
		r.log.Warn("project history only partly purged", slog.String("project_id", p.ID), slog.Int("deleted", n))
	}
	return events.APIGatewayV2HTTPResponse{StatusCode: http.StatusNoContent, Headers: map[string]string{"Cache-Control": "no-store"}}, nil
}

// ownedPage reads with list the page the request asks for of the caller's project's
// records.
func ownedPage[T any](ctx context.Context, a *API, r *request, list func(ctx context.Context, projectID string, limit int, cursor string) ([]T, string, error)) ([]T, string, error) {
	p, err := a.ownedProject(ctx, r)
	if err != nil {
		return nil, "", err
	}
	limit, cursor, err := pageParams(r)
	if err != nil {
		return nil, "", err
	}
	items, next, err := list(ctx, p.ID, limit, cursor)
	if err != nil {
		return nil, "", pageError(err)
	}
	return items, next, nil
}

func (a *API) listSnapshots(ctx context.Context, r *request) (events.APIGatewayV2HTTPResponse, error) {
	list, next, err := ownedPage(ctx, a, r, a.store.ListSnapshots)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	out := make([]store.Snapshot, 0, len(list))
	for _, s := range list {
		out = append(out, snapshotView(s))
	}
	return httpapi.JSON(http.StatusOK, map[string]any{"snapshots": out, "next_cursor": next}), nil
}

func (a *API) listUpdates(ctx context.Context, r *request) (events.APIGatewayV2HTTPResponse, error) {
	list, next, err := ownedPage(ctx, a, r, a.store.ListUpdates)
	if err != nil {
		return events.APIGatewayV2HTTPResponse{}, err
	}
	if list == nil {
		list = []store.Update{}
	}
	return httpapi.JSON(http.StatusOK, map[string]any{"updates": list, "next_cursor": next}), nil
}

// pageParams reads limit (1..store.MaxPageSize, default store.DefaultPageSize) and cursor.
func pageParams(r *request) (int, string, error) {
	raw, err := r.query("limit")
	if err != nil {
		return 0, "", err
	}
	limit := store.DefaultPageSize
	if raw != "" {
		limit, err = strconv.Atoi(raw)
		if err != nil || limit < 1 || limit > store.MaxPageSize {
			return 0, "", httpapi.Fail(http.StatusBadRequest, fmt.Sprintf("limit must be a number from 1 to %d", store.MaxPageSize), nil)
		}
	}
	cursor, err := r.query("cursor")
	if err != nil {
		return 0, "", err
	}
	return limit, cursor, nil
}

func pageError(err error) error {
	if errors.Is(err, store.ErrBadCursor) {
		return httpapi.Fail(http.StatusBadRequest, "invalid cursor", err)
	}
	return err
}
