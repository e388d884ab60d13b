package publish_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/blob"
	"cheeseshop/internal/clocktest"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/index"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/publish"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// fixture is an index and trusted publishing on a fresh database.
type fixture struct {
	t     *testing.T
	st    *store.Store
	idx   *index.Service
	svc   *publish.Service
	clock *clocktest.Clock
	// gate is the project gate's answer (the two-factor mandate).
	gate string
}

func newFixture(t *testing.T, d store.Dialect) *fixture {
	t.Helper()
	f := &fixture{t: t, st: storetest.Open(t, d), clock: clocktest.New(time.Now())}
	blobs, err := blob.NewFS(filepath.Join(t.TempDir(), "files"))
	storetest.Must(t, err)
	t.Cleanup(func() { blobs.Close() })
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	f.idx = index.New(f.st, blobs, index.Config{BaseURL: "http://index.test",
		ProjectGate: func(context.Context, index.GateQuerier, *store.User, *store.Project) (string, error) {
			return f.gate, nil
		},
		NameCheck: func(_ context.Context, name string) (*index.NameMatch, error) {
			if name == "reqests" {
				return &index.NameMatch{Target: "requests", TargetRank: 1, Kind: "omission"}, nil
			}
			return nil, nil
		}}, log)
	f.svc = publish.New(f.st, f.idx, publish.Config{}, log, f.clock.Now)
	return f
}

// user creates a verified account acting through a session that proved
// its identity lately.
func (f *fixture) user(name string) *index.Principal {
	f.t.Helper()
	u := &store.User{Username: name, Email: name + "@example.org", PasswordHash: "!", CreatedAt: time.Now()}
	storetest.Must(f.t, f.st.CreateUser(context.Background(), u))
	storetest.Must(f.t, f.st.SetEmail(context.Background(), u.ID, u.Email, true))
	u.EmailVerified = true
	return &index.Principal{User: u, RecentAuth: true}
}

// tokenOf returns u acting through an API token of its own, with the
// management scope.
func (f *fixture) tokenOf(p *index.Principal) *index.Principal {
	f.t.Helper()
	secret, hash := auth.NewToken()
	storetest.Must(f.t, f.st.CreateToken(context.Background(), &store.Token{UserID: p.User.ID, Name: "t", Prefix: "p", Hash: hash,
		CanManage: true, CreatedAt: time.Now()}))
	tp, err := f.idx.AuthenticateToken(context.Background(), secret, audit.Meta{})
	storetest.Must(f.t, err)
	return tp
}

// wheel uploads a wheel of the project, version v, as p.
func (f *fixture) wheel(p *index.Principal, project, v string) (*index.UploadResult, error) {
	ctx := context.Background()
	d := disttest.Dist{Name: project, Version: v}
	w := d.Wheel()
	form := d.Form("bdist_wheel", w)
	in, err := f.idx.Receive(ctx, bytes.NewReader(w), d.WheelFilename(), "application/octet-stream", project)
	if err != nil {
		return nil, err
	}
	defer in.Close()
	return f.idx.Upload(ctx, p, index.Form(form), in)
}

// claims are GitHub claims of octo-org/octo-repo's release.yml, with a
// fresh jti.
func claims(jti string) publish.Claims {
	return publish.Claims{Issuer: "github", Claims: map[string]any{
		"jti": jti, "sub": "repo:octo-org/octo-repo:ref:refs/heads/main", "ref": "refs/heads/main",
		"sha": "0123456789abcdef0123", "repository": "octo-org/octo-repo", "repository_owner": "octo-org",
		"repository_owner_id": "123456", "event_name": "push",
		"job_workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main",
		"exp":              float64(time.Now().Add(5 * time.Minute).Unix()),
	}}
}

var octoRepo = publish.Spec{Kind: store.PublisherGitHub, Owner: "octo-org", OwnerID: "123456", Repository: "octo-repo", Workflow: "release.yml"}

// code is the code of a refused exchange ("" when err is not one).
func code(err error) string {
	if e, ok := errors.AsType[*publish.Error](err); ok {
		return e.Code
	}
	return ""
}

func TestPublishers(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		f := newFixture(t, d)
		m := audit.Meta{IP: "192.0.2.1"}
		alice, bob := f.user("alice"), f.user("bob")
		for _, p := range []string{"widget", "gadget"} {
			if _, err := f.wheel(f.tokenOf(alice), p, "1.0"); err != nil {
				t.Fatal(err)
			}
		}
		if _, err := f.wheel(f.tokenOf(bob), "bobs", "1.0"); err != nil {
			t.Fatal(err)
		}

		// Adding a publisher is an Owner's change to the project, from a
		// session that proved its identity lately, under the mandate.
		if _, err := f.svc.AddPublisher(ctx, bob, m, "widget", octoRepo); problem.KindOf(err) != problem.Forbidden {
			t.Fatalf("a stranger added a publisher: %v", err)
		}
		if _, err := f.svc.AddPublisher(ctx, f.tokenOf(alice), m, "widget", octoRepo); problem.KindOf(err) != problem.Forbidden {
			t.Fatalf("an API token added a publisher: %v", err)
		}
		if _, err := f.svc.AddPublisher(ctx, &index.Principal{User: alice.User}, m, "widget", octoRepo); !errors.Is(err, auth.ErrReauthRequired) {
			t.Fatalf("a session that did not prove its identity lately: %v", err)
		}
		f.gate = "Enable two-factor authentication first."
		if _, err := f.svc.AddPublisher(ctx, alice, m, "widget", octoRepo); problem.KindOf(err) != problem.Forbidden ||
			!strings.Contains(err.Error(), "two-factor") {
			t.Fatalf("the mandate did not refuse: %v", err)
		}
		f.gate = ""
		if _, err := f.svc.AddPublisher(ctx, alice, m, "widget", publish.Spec{Kind: store.PublisherGeneric, Issuer: "forgejo",
			Rules: map[string]string{"sub": "x"}}); problem.KindOf(err) != problem.Invalid {
			t.Fatalf("a publisher of an issuer not configured: %v", err)
		}
		pub, err := f.svc.AddPublisher(ctx, alice, m, "widget", octoRepo)
		storetest.Must(t, err)
		again, err := f.svc.AddPublisher(ctx, alice, m, "gadget", octoRepo)
		storetest.Must(t, err)
		if again.ID != pub.ID {
			t.Fatalf("one workflow on two projects made two publishers: %d and %d", pub.ID, again.ID)
		}
		if _, err := f.svc.AddPublisher(ctx, alice, m, "widget", octoRepo); problem.KindOf(err) != problem.Conflict {
			t.Fatalf("the same publisher twice: %v", err)
		}
		list, err := f.svc.ListPublishers(ctx, alice, "widget")
		storetest.Must(t, err)
		if len(list) != 1 || list[0].ID != pub.ID {
			t.Fatalf("publishers of widget: %+v", list)
		}

		// The exchange mints a token for the publisher's projects.
		minted, err := f.svc.Exchange(ctx, claims("jti-1"), m)
		storetest.Must(t, err)
		if want := f.clock.Now().Add(publish.DefaultTokenLifetime); !minted.Expires.Equal(want) {
			t.Fatalf("expires %v, want %v", minted.Expires, want)
		}
		if strings.Join(minted.Projects, ",") != "gadget,widget" {
			t.Fatalf("projects %v", minted.Projects)
		}
		// The same ID token again is a replay.
		if _, err := f.svc.Exchange(ctx, claims("jti-1"), m); code(err) != publish.CodeInvalidReuseToken {
			t.Fatalf("replay: %v", err)
		}
		// Another workflow is no publisher.
		other := claims("jti-2")
		other.Claims["job_workflow_ref"] = "octo-org/octo-repo/.github/workflows/evil.yml@refs/heads/main"
		if _, err := f.svc.Exchange(ctx, other, m); code(err) != publish.CodeInvalidPublisher {
			t.Fatalf("another workflow: %v", err)
		}
		pr := claims("jti-3")
		pr.Claims["event_name"] = "pull_request_target"
		if _, err := f.svc.Exchange(ctx, pr, m); code(err) != publish.CodeInvalidPublisher {
			t.Fatalf("pull_request_target: %v", err)
		}

		// The token uploads to the publisher's projects, nothing else.
		tp, err := f.idx.AuthenticateToken(ctx, minted.Token, audit.Meta{})
		storetest.Must(t, err)
		if !tp.Publisher() || tp.User != nil || !strings.Contains(tp.Name(), "release.yml at 0123456789ab") {
			t.Fatalf("principal %+v named %q", tp, tp.Name())
		}
		storetest.Must(t, f.idx.CheckUploader(ctx, tp))
		res, err := f.wheel(tp, "widget", "2.0")
		storetest.Must(t, err)
		if res.Filename == "" {
			t.Fatal("no file")
		}
		if err := f.idx.CheckProjectUpload(ctx, tp, "bobs"); problem.KindOf(err) != problem.Forbidden {
			t.Fatalf("upload elsewhere: %v", err)
		}
		if _, err := f.wheel(tp, "bobs", "2.0"); problem.KindOf(err) != problem.Forbidden {
			t.Fatalf("upload to bobs: %v", err)
		}
		if _, err := f.wheel(tp, "brand-new", "1.0"); problem.KindOf(err) != problem.Forbidden {
			t.Fatalf("created a project: %v", err)
		}
		if err := f.idx.CheckManage(ctx, tp); problem.KindOf(err) != problem.Forbidden {
			t.Fatalf("management through a minted token: %v", err)
		}
		if _, err := f.idx.CreateToken(ctx, tp, m, index.TokenRequest{Name: "more"}); problem.KindOf(err) != problem.Forbidden {
			t.Fatalf("a minted token minted a token: %v", err)
		}
		if _, err := f.svc.AddPublisher(ctx, tp, m, "widget", octoRepo); problem.KindOf(err) != problem.Forbidden {
			t.Fatalf("a minted token added a publisher: %v", err)
		}

		// The upload's event names the publisher and the commit.
		widget, err := f.st.ProjectByName(ctx, "widget")
		storetest.Must(t, err)
		evs, err := f.st.ProjectEvents(ctx, widget.ID, 20)
		storetest.Must(t, err)
		found := false
		for _, e := range evs {
			if e.Tag == audit.FileUploaded && strings.Contains(audit.Describe(e), "release.yml at 0123456789ab") {
				var dt map[string]any
				storetest.Must(t, json.Unmarshal([]byte(e.Details), &dt))
				found = dt["publisher_claims"].(map[string]any)["sha"] == "0123456789abcdef0123"
			}
		}
		if !found {
			t.Fatalf("no upload event naming the publisher: %+v", evs)
		}

		// Removed from widget, the token no longer uploads there; the
		// publisher keeps gadget. Removed from both, it goes, and its
		// tokens with it.
		storetest.Must(t, f.svc.RemovePublisher(ctx, alice, m, "widget", pub.ID))
		if _, err := f.wheel(tp, "widget", "3.0"); problem.KindOf(err) != problem.Forbidden {
			t.Fatalf("upload after removal: %v", err)
		}
		if err := f.svc.RemovePublisher(ctx, alice, m, "widget", pub.ID); problem.KindOf(err) != problem.NotFound {
			t.Fatalf("removed twice: %v", err)
		}
		storetest.Must(t, f.svc.RemovePublisher(ctx, alice, m, "gadget", pub.ID))
		if _, err := f.idx.AuthenticateToken(ctx, minted.Token, audit.Meta{}); problem.KindOf(err) != problem.Unauthenticated {
			t.Fatalf("the token of a deleted publisher: %v", err)
		}
	})
}

// TestMintedTokenExpires: the token stops working 15 minutes after it
// was minted.
func TestMintedTokenExpires(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		f := newFixture(t, d)
		alice := f.user("alice")
		if _, err := f.wheel(f.tokenOf(alice), "widget", "1.0"); err != nil {
			t.Fatal(err)
		}
		_, err := f.svc.AddPublisher(ctx, alice, audit.Meta{}, "widget", octoRepo)
		storetest.Must(t, err)
		// The index checks expiry on the system's clock: mint a token
		// that has just expired, and one that has a minute left.
		f.clock.Set(time.Now().Add(-publish.DefaultTokenLifetime - time.Second))
		old, err := f.svc.Exchange(ctx, claims("old"), audit.Meta{})
		storetest.Must(t, err)
		if _, err := f.idx.AuthenticateToken(ctx, old.Token, audit.Meta{}); problem.KindOf(err) != problem.Unauthenticated ||
			!strings.Contains(err.Error(), "expired") {
			t.Fatalf("an expired minted token: %v", err)
		}
		f.clock.Set(time.Now().Add(-publish.DefaultTokenLifetime + time.Minute))
		fresh, err := f.svc.Exchange(ctx, claims("fresh"), audit.Meta{})
		storetest.Must(t, err)
		if _, err := f.idx.AuthenticateToken(ctx, fresh.Token, audit.Meta{}); err != nil {
			t.Fatalf("a token with a minute left: %v", err)
		}
	})
}

// TestPendingPublisher: a pending publisher creates its project on first
// use, through the index's name rules, then publishes it.
func TestPendingPublisher(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		f := newFixture(t, d)
		m := audit.Meta{}
		alice, bob := f.user("alice"), f.user("bob")
		if _, err := f.svc.AddPending(ctx, alice, m, "os", octoRepo); problem.KindOf(err) != problem.Invalid {
			t.Fatalf("a pending publisher for a stdlib name: %v", err)
		}
		if _, err := f.svc.AddPending(ctx, f.tokenOf(alice), m, "newproj", octoRepo); problem.KindOf(err) != problem.Forbidden {
			t.Fatalf("a token added a pending publisher: %v", err)
		}
		pend, err := f.svc.AddPending(ctx, alice, m, "NewProj", octoRepo)
		storetest.Must(t, err)
		if _, err := f.svc.AddPending(ctx, bob, m, "other", octoRepo); problem.KindOf(err) != problem.Conflict {
			t.Fatalf("the same publisher pending twice: %v", err)
		}
		// Another account's pending publisher for the same name is
		// dropped when the project is created.
		_, err = f.svc.AddPending(ctx, bob, m, "newproj", publish.Spec{Kind: store.PublisherGitHub, Owner: "bob", OwnerID: "7",
			Repository: "r", Workflow: "w.yml"})
		storetest.Must(t, err)
		if err := f.svc.RemovePending(ctx, bob, m, pend.ID); problem.KindOf(err) != problem.NotFound {
			t.Fatalf("bob removed alice's pending publisher: %v", err)
		}
		list, err := f.svc.ListPending(ctx, alice)
		storetest.Must(t, err)
		if len(list) != 1 || list[0].PendingName != "NewProj" {
			t.Fatalf("pending of alice: %+v", list)
		}

		minted, err := f.svc.Exchange(ctx, claims("p-1"), m)
		storetest.Must(t, err)
		if minted.Created != "NewProj" || len(minted.Projects) != 1 || minted.Projects[0] != "NewProj" {
			t.Fatalf("minted %+v", minted)
		}
		proj, err := f.st.ProjectByName(ctx, "newproj")
		storetest.Must(t, err)
		if role, err := f.st.RoleOf(ctx, proj.ID, alice.User.ID); err != nil || role != store.RoleOwner {
			t.Fatalf("alice's role on the new project: %q %v", role, err)
		}
		if left, err := f.svc.ListPending(ctx, bob); err != nil || len(left) != 0 {
			t.Fatalf("bob's stale pending publisher: %+v %v", left, err)
		}
		pubs, err := f.svc.ListPublishers(ctx, alice, "newproj")
		storetest.Must(t, err)
		if len(pubs) != 1 || pubs[0].Pending() {
			t.Fatalf("publishers of the new project: %+v", pubs)
		}
		tp, err := f.idx.AuthenticateToken(ctx, minted.Token, m)
		storetest.Must(t, err)
		if _, err := f.wheel(tp, "NewProj", "1.0"); err != nil {
			t.Fatalf("first upload through the pending publisher's token: %v", err)
		}

		// A look-alike name is held for review, as an upload's would be.
		_, err = f.svc.AddPending(ctx, alice, m, "reqests", publish.Spec{Kind: store.PublisherGoogle, Email: "ci@p.iam.gserviceaccount.com"})
		storetest.Must(t, err)
		if _, err := f.svc.Exchange(ctx, publish.Claims{Issuer: "google", Claims: map[string]any{
			"email": "ci@p.iam.gserviceaccount.com", "email_verified": true, "sub": "1"}}, m); err != nil {
			t.Fatalf("pending publisher of a look-alike: %v", err)
		}
		held, err := f.st.ProjectByName(ctx, "reqests")
		storetest.Must(t, err)
		if r, err := f.st.NameReviewOf(ctx, held.ID); err != nil || !r.Held || r.Target != "requests" {
			t.Fatalf("review of the look-alike: %+v %v", r, err)
		}

		// A pending publisher whose project exists by then is dropped.
		_, err = f.svc.AddPending(ctx, bob, m, "taken", publish.Spec{Kind: store.PublisherGitLab, Namespace: "g", Project: "p",
			CIConfigPath: ".gitlab-ci.yml"})
		storetest.Must(t, err)
		if _, err := f.wheel(f.tokenOf(alice), "taken", "1.0"); err != nil {
			t.Fatal(err)
		}
		gl := publish.Claims{Issuer: "gitlab", Claims: map[string]any{"jti": "g-1", "sub": "project_path:g/p:ref_type:branch",
			"project_path": "g/p", "ci_config_ref_uri": "gitlab.com/g/p//.gitlab-ci.yml@refs/heads/main", "ref_path": "refs/heads/main",
			"sha": "abc"}}
		if _, err := f.svc.Exchange(ctx, gl, m); code(err) != publish.CodeInvalidPendingPublisher {
			t.Fatalf("pending publisher of a taken name: %v", err)
		}
		if left, err := f.svc.ListPending(ctx, bob); err != nil || len(left) != 0 {
			t.Fatalf("the dropped pending publisher: %+v %v", left, err)
		}
	})
}

// TestConcurrentExchange: one ID token sent at once to two replicas
// sharing the database mints exactly one token.
func TestConcurrentExchange(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		f := newFixture(t, d)
		alice := f.user("alice")
		if _, err := f.wheel(f.tokenOf(alice), "widget", "1.0"); err != nil {
			t.Fatal(err)
		}
		_, err := f.svc.AddPublisher(ctx, alice, audit.Meta{}, "widget", octoRepo)
		storetest.Must(t, err)
		replica := publish.New(f.st, f.idx, publish.Config{}, slog.New(slog.NewTextHandler(io.Discard, nil)), nil)
		const each = 4
		results := make(chan error, 2*each)
		var wg sync.WaitGroup
		for i := range 2 * each {
			svc := f.svc
			if i%2 == 1 {
				svc = replica
			}
			wg.Go(func() {
				_, err := svc.Exchange(ctx, claims("once"), audit.Meta{})
				results <- err
			})
		}
		wg.Wait()
		close(results)
		minted := 0
		for err := range results {
			switch {
			case err == nil:
				minted++
			case code(err) != publish.CodeInvalidReuseToken:
				t.Errorf("a concurrent exchange failed otherwise: %v", err)
			}
		}
		if minted != 1 {
			t.Fatalf("%d tokens minted from one ID token, want 1", minted)
		}
	})
}
