package envelope

import (
	"bytes"
	"errors"
	"fmt"
	"hash/maphash"
	"io"
	"slices"
	"strconv"
	"sync"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"
)

// The one-pass decoder. A scanner (scan.go) reads the payload once, checking that it is
// strict JSON as the design brief defines it (valid UTF-8, no duplicate object names,
// nesting of at most 10,000: jsontext's defaults); the decoder descends into the
// members the envelope needs and reads every other value whole, checked but not kept.
// Names of the objects it walks are checked for duplicates here (nameSet), those of the
// values it skips by the scanner, with the same set: one hash set per payload, without
// allocations once warm.
//
// The result is what encoding/json decoding into the payload shapes below (buildStd)
// gives, which the differential fuzz target FuzzBuildDifferential checks: a wanted member
// of the wrong JSON type refuses the payload, null leaves a field unset, and names match
// as encoding/json matches them. encoding/json also matches names case-insensitively
// ("Ref" sets ref) and merges repeated members; a payload with a name that equals a
// wanted one only under case folding, which GitHub never sends, is validated and then
// decoded by buildStd, so that even then the envelope is the one encoding/json gives.

// errFolded signals a member name equal to a wanted one only under case folding.
var errFolded = errors.New("member name matches a wanted one only case-insensitively")

// errTrailing means the payload has more after its object.
var errTrailing = errors.New("invalid JSON: data after the top-level value")

// typeError is a wanted member of the wrong JSON type, which encoding/json refuses too.
type typeError struct {
	name string
	kind jsontext.Kind
}

func (e *typeError) Error() string {
	return fmt.Sprintf("member %q: unexpected JSON %s", e.name, e.kind)
}

var decoders = sync.Pool{New: func() any { return new(decoder) }}

// decoder is one payload's pass. Names handed to field callbacks are the wanted names
// themselves, never copies of the payload.
type decoder struct {
	d     scanner
	names nameSet
}

// errDuplicateName is an object with two members of the same name.
var errDuplicateName = errors.New("invalid JSON: duplicate object member name")

func newDecoder(payload []byte) *decoder {
	x := decoders.Get().(*decoder)
	x.names.reset()
	x.d.reset(payload, &x.names)
	return x
}

func (x *decoder) release() {
	x.d.reset(nil, nil) // drops the reference to the payload
	decoders.Put(x)
}

// nameSet holds the member names of the objects open in a payload, for the
// duplicate-name check. Names of an object are found by a linear search while it has
// at most linearNames of them (no hashing, no allocation: nearly every object), and in
// an open-addressing hash table after that. Objects close in the order opposite to
// their opening, so the names of the open objects stay back to back in buf, each
// object's after its parent's.
type nameSet struct {
	buf  []byte // the unquoted names of the open objects
	ends []int  // the end of each name in buf
	last uint64 // the last object number handed out; numbers are never reused

	// The table: slots of objects numbered below first count as empty, so emptying it
	// is setting first.
	seed   maphash.Seed
	slots  []nameSlot // len is a power of two, at most half full
	n      int        // slots used since the table was last emptied
	first  uint64
	hashed int // open objects whose names are in the table
}

// nameFrame is one open object.
type nameFrame struct {
	obj      uint64
	from     int // its first name in ends
	bufStart int
	hashed   bool
	// seen has a bit set for each name's length and outer bytes (nameBit): a name
	// whose bit is clear is new without a search, which is most names.
	seen uint64
}

// nameBit is the bit of nameFrame.seen that stands for name.
func nameBit(name []byte) uint64 {
	h := uint(len(name))
	if len(name) > 0 {
		h = h*31 + uint(name[0])*7 + uint(name[len(name)-1])
	}
	return 1 << (h & 63)
}

type nameSlot struct {
	obj        uint64
	hash       uint64
	start, end int // the name is buf[start:end]
}

// Limits: linearNames is the most names searched linearly; what is kept between
// payloads is bounded, so one large payload does not pin memory in a warm container.
const (
	linearNames  = 32
	minSlots     = 256
	maxKeptSlots = 1 << 12
	maxKeptBuf   = 64 << 10
	maxKeptEnds  = 4 << 10
)

func (s *nameSet) reset() {
	if len(s.slots) > maxKeptSlots {
		s.slots = nil
	}
	if cap(s.buf) > maxKeptBuf {
		s.buf = nil
	}
	if cap(s.ends) > maxKeptEnds {
		s.ends = nil
	}
	s.buf, s.ends = s.buf[:0], s.ends[:0]
	s.emptyTable()
}

func (s *nameSet) emptyTable() {
	s.n, s.hashed, s.first = 0, 0, s.last+1
}

// open starts an object.
func (s *nameSet) open() nameFrame {
	s.last++
	return nameFrame{obj: s.last, from: len(s.ends), bufStart: len(s.buf)}
}

// close ends an object, forgetting its names.
func (s *nameSet) close(f *nameFrame) {
	s.buf, s.ends = s.buf[:f.bufStart], s.ends[:f.from]
	if f.hashed {
		if s.hashed--; s.hashed == 0 {
			s.emptyTable()
		}
	}
}

// insert adds name to the object and reports whether it was not there yet.
func (s *nameSet) insert(f *nameFrame, name []byte) bool {
	if !f.hashed {
		if len(s.ends)-f.from < linearNames {
			bit := nameBit(name)
			if f.seen&bit != 0 {
				start := f.bufStart
				for _, end := range s.ends[f.from:] {
					if string(s.buf[start:end]) == string(name) {
						return false
					}
					start = end
				}
			}
			f.seen |= bit
			s.buf = append(s.buf, name...)
			s.ends = append(s.ends, len(s.buf))
			return true
		}
		// Too many for a linear search: the object's names go into the table.
		f.hashed = true
		s.hashed++
		start := f.bufStart
		for _, end := range s.ends[f.from:] {
			s.add(f.obj, start, end)
			start = end
		}
	}
	h := maphash.Bytes(s.seed, name)
	mask := uint64(len(s.slots) - 1)
	for i := slotOf(h, f.obj) & mask; s.slots[i].obj >= s.first; i = (i + 1) & mask {
		if sl := &s.slots[i]; sl.obj == f.obj && sl.hash == h && string(s.buf[sl.start:sl.end]) == string(name) {
			return false
		}
	}
	start := len(s.buf)
	s.buf = append(s.buf, name...)
	s.ends = append(s.ends, len(s.buf))
	s.add(f.obj, start, len(s.buf))
	return true
}

// add puts buf[start:end], known not to be in the object yet, into the table.
func (s *nameSet) add(obj uint64, start, end int) {
	if 2*(s.n+1) > len(s.slots) {
		s.grow()
	}
	h := maphash.Bytes(s.seed, s.buf[start:end])
	s.place(nameSlot{obj: obj, hash: h, start: start, end: end})
	s.n++
}

func (s *nameSet) place(sl nameSlot) {
	mask := uint64(len(s.slots) - 1)
	i := slotOf(sl.hash, sl.obj) & mask
	for s.slots[i].obj >= s.first {
		i = (i + 1) & mask
	}
	s.slots[i] = sl
}

// slotOf mixes the object number into the name's hash: objects' names spread over
// the whole table.
func slotOf(h, obj uint64) uint64 { return h ^ (obj * 0x9e3779b97f4a7c15) }

func (s *nameSet) grow() {
	old := s.slots
	if old == nil {
		s.seed = maphash.MakeSeed()
		s.slots = make([]nameSlot, minSlots)
		return
	}
	s.slots = make([]nameSlot, 2*len(old))
	for _, sl := range old {
		if sl.obj >= s.first {
			s.place(sl)
		}
	}
}

// end checks that nothing but whitespace follows the top-level value.
func (x *decoder) end() error {
	if _, err := x.d.ReadToken(); err != io.EOF {
		if err != nil {
			return err
		}
		return errTrailing
	}
	return nil
}

// skip reads a value the envelope does not need, checking all of it.
func (x *decoder) skip() error {
	_, err := x.d.ReadValue()
	return err
}

// object reads an object, calling field for each member whose name is in names (with
// that entry of names) and skipping the others. A value that is null does nothing, as
// it does for every field here under encoding/json; a value that is not an object is a
// type error.
func (x *decoder) object(what string, names []string, field func(name string) error) error {
	switch k := x.d.PeekKind(); k {
	case 'n':
		return x.skip()
	case '{':
	default:
		return x.mismatch(what, k)
	}
	if _, err := x.d.ReadToken(); err != nil {
		return err
	}
	f := x.names.open()
	for x.d.PeekKind() != '}' {
		raw, err := x.d.ReadValue()
		if err != nil {
			return err
		}
		n, err := x.d.nameOf(raw)
		if err != nil {
			return err
		}
		if !x.names.insert(&f, n) {
			return errDuplicateName
		}
		i := slices.Index(names, string(n))
		if i < 0 {
			if folds(names, n) {
				return errFolded
			}
			if err := x.skip(); err != nil {
				return err
			}
			continue
		}
		if err := field(names[i]); err != nil {
			return err
		}
	}
	x.names.close(&f)
	_, err := x.d.ReadToken()
	return err
}

// folds reports whether n equals one of names under Unicode case folding, as
// encoding/json matches names. Lengths can differ only through non-ASCII letters
// (K, the Kelvin sign, folds to k), so an ASCII name is compared only with names of its
// length: for most names, none, and the check is a few length comparisons.
func folds(names []string, n []byte) bool {
	for _, w := range names {
		if len(w) == len(n) && bytes.EqualFold([]byte(w), n) {
			return true
		}
	}
	for _, c := range n {
		if c >= utf8.RuneSelf {
			for _, w := range names {
				if len(w) != len(n) && bytes.EqualFold([]byte(w), n) {
					return true
				}
			}
			return false
		}
	}
	return false
}

// array reads an array, calling elem for each element; null does nothing.
func (x *decoder) array(what string, elem func() error) error {
	switch k := x.d.PeekKind(); k {
	case 'n':
		return x.skip()
	case '[':
	default:
		return x.mismatch(what, k)
	}
	if _, err := x.d.ReadToken(); err != nil {
		return err
	}
	for x.d.PeekKind() != ']' {
		if err := elem(); err != nil {
			return err
		}
	}
	_, err := x.d.ReadToken()
	return err
}

// mismatch reads the value (a syntax error in it takes precedence, as in encoding/json)
// and reports a type error.
func (x *decoder) mismatch(what string, k jsontext.Kind) error {
	if err := x.skip(); err != nil {
		return err
	}
	return &typeError{name: what, kind: k}
}

func (x *decoder) str(what string, dst *string) error {
	switch k := x.d.PeekKind(); k {
	case 'n':
		return x.skip()
	case '"':
		v, err := x.d.ReadValue()
		if err != nil {
			return err
		}
		*dst, err = unquote(v)
		return err
	default:
		return x.mismatch(what, k)
	}
}

// strElem reads an element of a string list: null is "", as encoding/json leaves a
// new element.
func (x *decoder) strElem(what string) (string, error) {
	var s string
	err := x.str(what, &s)
	return s, err
}

func unquote(v jsontext.Value) (string, error) {
	in := v[1 : len(v)-1]
	if bytes.IndexByte(in, '\\') < 0 {
		return string(in), nil
	}
	b, err := jsontext.AppendUnquote(nil, v)
	return string(b), err
}

func (x *decoder) int(what string, dst *int64) error {
	switch k := x.d.PeekKind(); k {
	case 'n':
		return x.skip()
	case '0':
		v, err := x.d.ReadValue()
		if err != nil {
			return err
		}
		// encoding/json takes only integers that fit: 1.0, 1e3 and 2^63 are refused.
		n, err := strconv.ParseInt(string(v), 10, 64)
		if err != nil {
			return &typeError{name: what, kind: k}
		}
		*dst = n
		return nil
	default:
		return x.mismatch(what, k)
	}
}

func (x *decoder) bool(what string, dst *bool) error {
	switch k := x.d.PeekKind(); k {
	case 'n':
		return x.skip()
	case 't', 'f':
		if err := x.skip(); err != nil {
			return err
		}
		*dst = k == 't'
		return nil
	default:
		return x.mismatch(what, k)
	}
}

// stamp reads a timestamp: any value, as stamp.UnmarshalJSON takes any (and ignores
// what is not a string).
func (x *decoder) stamp(dst *stamp) error {
	v, err := x.d.ReadValue()
	if err != nil {
		return err
	}
	return dst.UnmarshalJSON(v)
}

// ---- the payload members, by event.

var (
	commonNames      = []string{"action", "installation", "repository", "sender"}
	pushNames        = append(slices.Clip(commonNames), "ref", "before", "after", "created", "deleted", "forced", "commits", "head_commit")
	pullNames        = append(slices.Clip(commonNames), "pull_request")
	issueNames       = append(slices.Clip(commonNames), "issue")
	installNames     = append(slices.Clip(commonNames), "repositories")
	installRepoNames = append(slices.Clip(commonNames), "repository_selection", "repositories_added", "repositories_removed")

	idNames        = []string{"id"}
	loginNames     = []string{"login"}
	nameNames      = []string{"name"}
	titleNames     = []string{"title"}
	refNames       = []string{"ref"}
	fullNameNames  = []string{"full_name"}
	repoNames      = []string{"id", "full_name", "default_branch", "private"}
	commitNames    = []string{"added", "modified", "removed"}
	timestampNames = []string{"timestamp"}
	accountNames   = []string{"id", "login", "type"}
	installFields  = []string{"id", "account", "repository_selection", "suspended_at"}
	pullFields     = []string{"number", "state", "draft", "merged", "title", "labels", "milestone", "user", "head", "base", "created_at", "updated_at", "closed_at", "merged_at"}
	issueFields    = []string{"number", "state", "title", "labels", "milestone", "created_at", "updated_at", "closed_at"}
)

// payload is every payload shape's fields at once; each event reads its own.
type payload struct {
	commonJSON
	install *installationJSON // installation and installation_repositories

	// push
	ref, before, after       string
	created, deleted, forced bool
	commits                  int
	paths                    []string
	headCommit               *stamp

	pr    *pullJSON
	issue *issueFieldsJSON

	repositorySelection string
	repos, removed      []string // full names
}

// decodeFast fills e from payload in one pass. It returns errFolded when the payload
// must be decoded by buildStd instead.
func decodeFast(e *Envelope, eventType string, body []byte) error {
	x := newDecoder(body)
	defer x.release()
	var p payload
	names := commonNames
	switch eventType {
	case "push":
		names = pushNames
	case "pull_request":
		names = pullNames
	case "issues":
		names = issueNames
	case "installation":
		names = installNames
	case "installation_repositories":
		names = installRepoNames
	}
	installationEvent := eventType == "installation" || eventType == "installation_repositories"
	err := x.object("payload", names, func(name string) error {
		switch name {
		case "action":
			return x.str(name, &p.Action)
		case "installation":
			if installationEvent {
				return x.installation(&p.install)
			}
			return x.objectInto(name, idNames, func() { p.Installation = new(idJSON) }, func(string) error {
				return x.int("installation.id", &p.Installation.ID)
			})
		case "repository":
			return x.repo(&p.Repository)
		case "sender":
			return x.login(name, &p.Sender)
		case "ref":
			return x.str(name, &p.ref)
		case "before":
			return x.str(name, &p.before)
		case "after":
			return x.str(name, &p.after)
		case "created":
			return x.bool(name, &p.created)
		case "deleted":
			return x.bool(name, &p.deleted)
		case "forced":
			return x.bool(name, &p.forced)
		case "commits":
			return x.commits(&p)
		case "head_commit":
			return x.headCommit(&p.headCommit)
		case "pull_request":
			return x.pull(&p.pr)
		case "issue":
			return x.issue(&p.issue)
		case "repositories", "repositories_added":
			return x.fullNames(name, &p.repos)
		case "repositories_removed":
			return x.fullNames(name, &p.removed)
		case "repository_selection":
			return x.str(name, &p.repositorySelection)
		}
		return nil
	})
	if err == nil {
		err = x.end()
	}
	if err != nil {
		return err
	}
	// A null top-level value is refused before this: Build checks for '{'.
	p.fill(e)
	switch eventType {
	case "push":
		e.Push = &Push{
			Ref: p.ref, Before: p.before, After: p.after,
			Created: p.created, Deleted: p.deleted, Forced: p.forced,
			Paths:           sortedPaths(p.paths),
			PathsIncomplete: pathsIncomplete(p.commits, p.deleted, p.forced, p.before, p.after),
		}
		if p.headCommit != nil {
			e.Push.HeadCommitAt = p.headCommit.t
		}
	case "pull_request":
		if p.pr != nil {
			e.PullRequest = p.pr.envelope()
		}
	case "issues":
		if p.issue != nil {
			e.Issue = p.issue.envelope()
		}
	case "installation", "installation_repositories":
		if p.install == nil {
			return nil
		}
		e.InstallationID = p.install.ID
		e.Installation = p.install.envelope()
		if eventType == "installation" {
			if p.Action == "created" {
				e.Installation.Repositories = p.repos
			}
			return nil
		}
		if p.repositorySelection != "" {
			e.Installation.RepositorySelection = p.repositorySelection
		}
		e.Installation.Repositories = p.repos
		e.Installation.RepositoriesRemoved = p.removed
	}
	return nil
}

func (x *decoder) repo(dst **repoJSON) error {
	return x.objectInto("repository", repoNames, func() { *dst = new(repoJSON) }, func(name string) error {
		r := *dst
		switch name {
		case "id":
			return x.int("repository.id", &r.ID)
		case "full_name":
			return x.str("repository.full_name", &r.FullName)
		case "default_branch":
			return x.str("repository.default_branch", &r.DefaultBranch)
		default:
			return x.bool("repository.private", &r.Private)
		}
	})
}

// objectInto allocates *dst the first time an object's member is read, and also for an
// object without any wanted member: encoding/json sets a pointer for any object.
func (x *decoder) objectInto(what string, names []string, alloc func(), field func(name string) error) error {
	if x.d.PeekKind() == '{' {
		alloc()
	}
	return x.object(what, names, field)
}

func (x *decoder) login(what string, dst **loginJSON) error {
	return x.objectInto(what, loginNames, func() { *dst = new(loginJSON) }, func(string) error {
		return x.str(what+".login", &(*dst).Login)
	})
}

// commits appends every commit's paths to p.paths: no per-commit lists, only the
// envelope's own strings.
func (x *decoder) commits(p *payload) error {
	return x.array("commits", func() error {
		p.commits++
		return x.object("commits[]", commitNames, func(name string) error {
			return x.array(name, func() error {
				s, err := x.strElem(name)
				if err == nil && s != "" {
					p.paths = append(p.paths, s)
				}
				return err
			})
		})
	})
}

func (x *decoder) headCommit(dst **stamp) error {
	return x.objectInto("head_commit", timestampNames, func() { *dst = new(stamp) }, func(string) error {
		return x.stamp(*dst)
	})
}

// labels reads label names; a null label is "", as encoding/json leaves a new element.
func (x *decoder) labels(what string, dst *[]string) error {
	return x.array(what, func() error {
		var name string
		err := x.object(what+"[]", nameNames, func(string) error { return x.str(what+"[].name", &name) })
		*dst = append(*dst, name)
		return err
	})
}

func (x *decoder) title(what string, dst *string) error {
	return x.object(what, titleNames, func(string) error { return x.str(what+".title", dst) })
}

func (x *decoder) ref(what string, dst *string) error {
	return x.object(what, refNames, func(string) error { return x.str(what+".ref", dst) })
}

func (x *decoder) fullNames(what string, dst *[]string) error {
	return x.array(what, func() error {
		var name string
		err := x.object(what+"[]", fullNameNames, func(string) error { return x.str(what+"[].full_name", &name) })
		*dst = append(*dst, name)
		return err
	})
}

// pullJSON and issueFieldsJSON are the fields of a pull request and an issue.
type pullJSON struct {
	number                          int64
	state, title, milestone, author string
	headRef, baseRef                string
	draft, merged                   bool
	labels                          []string
	created, updated, closed, mrgd  stamp
}

func (pr *pullJSON) envelope() *PullRequest {
	return &PullRequest{
		Number: int(pr.number), State: pr.state, Draft: pr.draft, Merged: pr.merged, Title: pr.title,
		Labels: nilIfEmpty(pr.labels), Milestone: pr.milestone, Author: pr.author, HeadRef: pr.headRef, BaseRef: pr.baseRef,
		CreatedAt: pr.created.t, UpdatedAt: pr.updated.t, ClosedAt: pr.closed.t, MergedAt: pr.mrgd.t,
	}
}

func (x *decoder) pull(dst **pullJSON) error {
	return x.objectInto("pull_request", pullFields, func() { *dst = new(pullJSON) }, func(name string) error {
		pr := *dst
		switch name {
		case "number":
			return x.int("pull_request.number", &pr.number)
		case "state":
			return x.str("pull_request.state", &pr.state)
		case "draft":
			return x.bool("pull_request.draft", &pr.draft)
		case "merged":
			return x.bool("pull_request.merged", &pr.merged)
		case "title":
			return x.str("pull_request.title", &pr.title)
		case "labels":
			return x.labels("pull_request.labels", &pr.labels)
		case "milestone":
			return x.title("pull_request.milestone", &pr.milestone)
		case "user":
			return x.object("pull_request.user", loginNames, func(string) error { return x.str("pull_request.user.login", &pr.author) })
		case "head":
			return x.ref("pull_request.head", &pr.headRef)
		case "base":
			return x.ref("pull_request.base", &pr.baseRef)
		case "created_at":
			return x.stamp(&pr.created)
		case "updated_at":
			return x.stamp(&pr.updated)
		case "closed_at":
			return x.stamp(&pr.closed)
		default:
			return x.stamp(&pr.mrgd)
		}
	})
}

type issueFieldsJSON struct {
	number                   int64
	state, title, milestone  string
	labels                   []string
	created, updated, closed stamp
}

func (is *issueFieldsJSON) envelope() *Issue {
	return &Issue{
		Number: int(is.number), State: is.state, Title: is.title, Labels: nilIfEmpty(is.labels), Milestone: is.milestone,
		CreatedAt: is.created.t, UpdatedAt: is.updated.t, ClosedAt: is.closed.t,
	}
}

func (x *decoder) issue(dst **issueFieldsJSON) error {
	return x.objectInto("issue", issueFields, func() { *dst = new(issueFieldsJSON) }, func(name string) error {
		is := *dst
		switch name {
		case "number":
			return x.int("issue.number", &is.number)
		case "state":
			return x.str("issue.state", &is.state)
		case "title":
			return x.str("issue.title", &is.title)
		case "labels":
			return x.labels("issue.labels", &is.labels)
		case "milestone":
			return x.title("issue.milestone", &is.milestone)
		case "created_at":
			return x.stamp(&is.created)
		case "updated_at":
			return x.stamp(&is.updated)
		default:
			return x.stamp(&is.closed)
		}
	})
}

func (x *decoder) installation(dst **installationJSON) error {
	return x.objectInto("installation", installFields, func() { *dst = new(installationJSON) }, func(name string) error {
		in := *dst
		switch name {
		case "id":
			return x.int("installation.id", &in.ID)
		case "account":
			return x.objectInto("installation.account", accountNames, func() { in.Account = new(accountJSON) }, func(name string) error {
				a := in.Account
				switch name {
				case "id":
					return x.int("installation.account.id", &a.ID)
				case "login":
					return x.str("installation.account.login", &a.Login)
				default:
					return x.str("installation.account.type", &a.Type)
				}
			})
		case "repository_selection":
			return x.str("installation.repository_selection", &in.RepositorySelection)
		default:
			return x.stamp(&in.SuspendedAt)
		}
	})
}

func nilIfEmpty(s []string) []string {
	if len(s) == 0 {
		return nil
	}
	return s
}
