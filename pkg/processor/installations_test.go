package processor

import (
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/repotrackr/github-integration/pkg/store"
	"github.com/repotrackr/github-integration/pkg/testkit"
)

// installEnv is a test env whose installation covers two repositories with a project
// each.
type installEnv struct {
	*testEnv
	repoB    string
	projA    store.Project
	projB    store.Project
	bothRepo []string
}

func newInstallEnv(t *testing.T) *installEnv {
	e := newTestEnv(t)
	e.inst = 5000 + testkit.Seq()
	ie := &installEnv{testEnv: e, repoB: e.owner + "/" + uniq("Space")}
	ie.bothRepo = []string{e.repo(), ie.repoB}
	e.gh.commit(e.repo(), "main", t0, map[string]string{"docs/plan.md": planV1})
	e.gh.commit(ie.repoB, "main", t0, map[string]string{"docs/plan.md": planV2})
	ie.projA = e.addProject(nil)
	ie.projB = e.addProject(func(p *store.Project) { p.Repo = ie.repoB })
	return ie
}

// instEvent builds an installation or installation_repositories delivery from a real
// payload, pointed at the env's installation; repos replaces the repository lists the
// payload names (repositories, or repositories_added/_removed).
func (e *installEnv) instEvent(eventType, file string, repos ...string) delivery {
	e.t.Helper()
	m := loadPayload(e.t, eventType, file)
	set(m, "installation.id", e.inst)
	set(m, "installation.account.login", e.owner)
	list := make([]any, 0, len(repos))
	for _, r := range repos {
		list = append(list, map[string]any{"full_name": r, "name": r[strings.Index(r, "/")+1:]})
	}
	switch {
	case eventType == "installation":
		set(m, "repositories", list)
	case m["action"] == "added":
		set(m, "repositories_added", list)
	default:
		set(m, "repositories_removed", list)
	}
	return e.build(eventType, m)
}

// uninstall removes the installation on GitHub and handles its deleted delivery.
func (e *installEnv) uninstall() delivery {
	e.t.Helper()
	e.gh.setInstallation(e.inst, nil)
	d := e.instEvent("installation", "deleted.payload.json")
	e.mustHandle(d.msg())
	return d
}

func (e *installEnv) statuses() (string, string) {
	return e.project(e.projA.ID).Status, e.project(e.projB.ID).Status
}

func TestInstallationLifecycle(t *testing.T) {
	e := newInstallEnv(t)
	e.gh.setInstallation(e.inst, &fakeInstall{account: e.owner, repos: e.bothRepo})

	// created: the envelope names one repository, GitHub (read again) says two.
	created := e.instEvent("installation", "created.payload.json", e.repo())
	e.mustHandle(created.msg())
	in, err := e.st.GetInstallation(e.ctx, e.inst)
	if err != nil {
		t.Fatal(err)
	}
	if in.Status != store.InstallationActive || !slices.Equal(in.Repositories, store.NormalizeRepos(e.bothRepo)) || in.AccountLogin != e.owner {
		t.Errorf("installation = %+v, want active with both repositories", in)
	}
	if a, b := e.statuses(); a != store.ProjectActive || b != store.ProjectActive {
		t.Errorf("after created: %s, %s, want pending projects read at once (active)", a, b)
	}

	e.gh.setInstallation(e.inst, &fakeInstall{account: e.owner, repos: e.bothRepo, suspended: true})
	e.mustHandle(e.instEvent("installation", "suspend.payload.json").msg())
	if a, b := e.statuses(); a != store.ProjectSuspended || b != store.ProjectSuspended {
		t.Errorf("after suspend: %s, %s, want suspended", a, b)
	}
	if in, _ := e.st.GetInstallation(e.ctx, e.inst); in.Status != store.InstallationSuspended || in.SuspendedAt == nil || len(in.Repositories) != 2 {
		t.Errorf("suspended installation = %+v, want its repositories kept", in)
	}
	if !slices.Contains(e.gh.forgot, e.inst) {
		t.Error("suspend did not drop the cached installation token")
	}

	e.gh.setInstallation(e.inst, &fakeInstall{account: e.owner, repos: e.bothRepo})
	e.mustHandle(e.instEvent("installation", "unsuspend.payload.json").msg())
	if a, b := e.statuses(); a != store.ProjectActive || b != store.ProjectActive {
		t.Errorf("after unsuspend: %s, %s, want active", a, b)
	}

	e.gh.setInstallation(e.inst, &fakeInstall{account: e.owner, repos: []string{e.repo()}})
	removed := e.instEvent("installation_repositories", "removed.payload.json", e.repoB)
	e.mustHandle(removed.msg())
	if a, b := e.statuses(); a != store.ProjectActive || b != store.ProjectAccessLost {
		t.Errorf("after removed: %s, %s, want active, access_lost", a, b)
	}
	pb := e.project(e.projB.ID)
	if pb.StatusError != msgNotCovered || pb.LatestSnapshot == nil {
		t.Errorf("removed project = %q, snapshot %v, want %q and its data kept", pb.StatusError, pb.LatestSnapshot, msgNotCovered)
	}
	i := slices.IndexFunc(e.updates(e.projB.ID), func(u store.Update) bool { return u.DeliveryID == removed.env.DeliveryID })
	if ups := e.updates(e.projB.ID); i < 0 || !strings.HasPrefix(ups[i].Summary, "access_lost") || ups[i].EventType != "installation_repositories" {
		t.Errorf("updates of removed project = %+v, want an access_lost entry for the delivery", ups)
	}

	e.gh.setInstallation(e.inst, &fakeInstall{account: e.owner, repos: e.bothRepo})
	e.mustHandle(e.instEvent("installation_repositories", "added.payload.json", e.repoB).msg())
	if a, b := e.statuses(); a != store.ProjectActive || b != store.ProjectActive {
		t.Errorf("after added: %s, %s, want active", a, b)
	}

	e.gh.setInstallation(e.inst, &fakeInstall{account: e.owner, repos: e.bothRepo})
	e.mustHandle(e.instEvent("installation", "new_permissions_accepted.payload.json").msg())
	if a, b := e.statuses(); a != store.ProjectActive || b != store.ProjectActive {
		t.Errorf("after new_permissions_accepted: %s, %s, want active", a, b)
	}

	deleted := e.uninstall()
	if a, b := e.statuses(); a != store.ProjectAccessLost || b != store.ProjectAccessLost {
		t.Errorf("after deleted: %s, %s, want access_lost", a, b)
	}
	if in, _ := e.st.GetInstallation(e.ctx, e.inst); in.Status != store.InstallationDeleted || len(in.Repositories) != 2 {
		t.Errorf("deleted installation = %+v", in)
	}
	if _, err := e.st.GetProject(e.ctx, e.projA.ID); err != nil {
		t.Errorf("project deleted with the installation: %v", err)
	}
	if ev := e.event(deleted.env.DeliveryID); ev.Status != store.EventProcessed {
		t.Errorf("deleted event = %s, want processed", ev.Status)
	}
}

func TestInstallationEventsConvergeInAnyOrder(t *testing.T) {
	type step struct {
		eventType, file string
		repos           []string
	}
	finals := []struct {
		name    string
		install func(e *installEnv) *fakeInstall
		wantA   string
		wantB   string
		status  string
	}{
		{"ends active with one repository", func(e *installEnv) *fakeInstall {
			return &fakeInstall{account: e.owner, repos: []string{e.repo()}}
		}, store.ProjectActive, store.ProjectAccessLost, store.InstallationActive},
		{"ends suspended", func(e *installEnv) *fakeInstall {
			return &fakeInstall{account: e.owner, repos: e.bothRepo, suspended: true}
		}, store.ProjectSuspended, store.ProjectSuspended, store.InstallationSuspended},
		{"ends deleted", func(*installEnv) *fakeInstall { return nil }, store.ProjectAccessLost, store.ProjectAccessLost, store.InstallationDeleted},
	}
	for _, fin := range finals {
		t.Run(fin.name, func(t *testing.T) {
			for run := range 3 {
				e := newInstallEnv(t)
				steps := []step{
					{"installation", "created.payload.json", []string{e.repo()}},
					{"installation", "suspend.payload.json", nil},
					{"installation", "unsuspend.payload.json", nil},
					{"installation_repositories", "removed.payload.json", []string{e.repoB}},
					{"installation_repositories", "added.payload.json", []string{e.repoB}},
					{"installation", "deleted.payload.json", nil},
				}
				var ds []delivery
				for _, s := range steps {
					ds = append(ds, e.instEvent(s.eventType, s.file, s.repos...))
				}
				ds = append(ds, ds[run]) // one delivered twice
				rng := rand.New(rand.NewPCG(uint64(run), 11))
				rng.Shuffle(len(ds), func(i, j int) { ds[i], ds[j] = ds[j], ds[i] })
				// GitHub is in its final state by the time the deliveries are processed.
				e.gh.setInstallation(e.inst, fin.install(e))
				for _, d := range ds {
					e.mustHandle(d.msg())
				}
				if a, b := e.statuses(); a != fin.wantA || b != fin.wantB {
					t.Errorf("run %d: projects %s, %s, want %s, %s", run, a, b, fin.wantA, fin.wantB)
				}
				if in, _ := e.st.GetInstallation(e.ctx, e.inst); in.Status != fin.status {
					t.Errorf("run %d: installation %s, want %s", run, in.Status, fin.status)
				}
			}
		})
	}
}

func TestInstallationLeavesOtherInstallationsProjects(t *testing.T) {
	e := newInstallEnv(t)
	e.gh.setInstallation(e.inst, &fakeInstall{account: e.owner, repos: e.bothRepo})
	e.mustHandle(e.instEvent("installation", "created.payload.json", e.repo(), e.repoB).msg())
	// projB moved to a new installation (the App was installed again).
	newInst := e.inst + 100000
	if _, _, err := e.st.MutateProject(e.ctx, e.projB.ID, func(p *store.Project) (bool, error) {
		p.InstallationID = newInst
		p.SetStatus(store.ProjectActive, "")
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	e.uninstall()
	if a, b := e.statuses(); a != store.ProjectAccessLost || b != store.ProjectActive {
		t.Errorf("projects = %s, %s, want access_lost for the old installation's, active for the other", a, b)
	}
}

// An installation whose repositories were never stored (its created event was lost) is
// deleted: its projects are found through the by_installation index all the same.
func TestInstallationDeletedFindsProjectsByInstallation(t *testing.T) {
	e := newInstallEnv(t)
	e.uninstall()
	if a, b := e.statuses(); a != store.ProjectAccessLost || b != store.ProjectAccessLost {
		t.Errorf("after deleted with no stored repositories: %s, %s, want access_lost", a, b)
	}
}

func TestInstallationGitHubFailureRetried(t *testing.T) {
	e := newInstallEnv(t)
	e.gh.setInstallation(e.inst, &fakeInstall{account: e.owner, repos: e.bothRepo})
	e.gh.failNext(opInst, errRetryable("GET /app/installations/{installation_id}"))
	d := e.instEvent("installation", "created.payload.json", e.repo())
	m := d.msg()
	e.mustFail(m, "GitHub failed")
	e.clock.Advance(time.Minute)
	e.mustHandle(m)
	if in, err := e.st.GetInstallation(e.ctx, e.inst); err != nil || in.Status != store.InstallationActive {
		t.Errorf("installation = %+v, %v, want active after the retry", in, err)
	}
}
