package store_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestTrustedPublishers: identities are unique among active publishers
// and apart among pending ones; candidates are found by lookup key;
// links are many to many; a pending publisher becomes active; deleting
// a publisher takes its links and the tokens minted for it.
func TestTrustedPublishers(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Microsecond)
		u := &store.User{Username: "owner", Email: "owner@example.com", CreatedAt: now}
		storetest.Must(t, s.CreateUser(ctx, u))
		var projects []*store.Project
		for _, name := range []string{"alpha", "beta"} {
			p := &store.Project{Name: name, NormalizedName: name, UltraName: name, CreatedAt: now}
			storetest.Must(t, s.CreateProject(ctx, p))
			projects = append(projects, p)
		}
		gh := func() *store.Publisher {
			return &store.Publisher{Kind: store.PublisherGitHub, Issuer: "github", Lookup: "octo/repo", Identity: "octo/repo|1|release.yml|",
				RepositoryOwner: "octo", RepositoryOwnerID: "1", RepositoryName: "repo", WorkflowFilename: "release.yml", AddedBy: u.ID, CreatedAt: now}
		}
		pub := gh()
		storetest.Must(t, s.AddPublisher(ctx, pub))
		if err := s.AddPublisher(ctx, gh()); !store.IsUniqueViolation(err) {
			t.Fatalf("second active publisher of one identity: %v, want a unique violation", err)
		}
		pending := gh()
		pending.PendingName, pending.PendingNormalized = "Gamma", "gamma"
		storetest.Must(t, s.AddPublisher(ctx, pending))
		other := gh()
		other.PendingName, other.PendingNormalized = "Delta", "delta"
		if err := s.AddPublisher(ctx, other); !store.IsUniqueViolation(err) {
			t.Fatalf("second pending publisher of one identity: %v, want a unique violation", err)
		}

		for _, p := range projects {
			storetest.Must(t, s.LinkPublisher(ctx, pub.ID, p.ID, now))
		}
		storetest.Must(t, s.LinkPublisher(ctx, pub.ID, projects[0].ID, now)) // again: no change
		got, err := s.PublisherProjects(ctx, pub.ID)
		storetest.Must(t, err)
		if len(got) != 2 || got[0].NormalizedName != "alpha" || got[1].NormalizedName != "beta" {
			t.Fatalf("publisher projects %v", got)
		}
		list, err := s.ProjectPublishers(ctx, projects[1].ID)
		storetest.Must(t, err)
		if len(list) != 1 || *list[0] != *pub {
			t.Fatalf("project publishers %+v, want %+v", list, pub)
		}
		for _, pend := range []bool{false, true} {
			c, err := s.PublisherCandidates(ctx, "github", store.PublisherGitHub, "octo/repo", pend)
			storetest.Must(t, err)
			if len(c) != 1 || c[0].Pending() != pend {
				t.Fatalf("candidates (pending %v): %+v", pend, c)
			}
		}
		if c, err := s.PublisherCandidates(ctx, "gitlab", store.PublisherGitHub, "octo/repo", false); err != nil || len(c) != 0 {
			t.Fatalf("another issuer's candidates: %v %v", c, err)
		}
		mine, err := s.PendingPublishersOf(ctx, u.ID)
		storetest.Must(t, err)
		if len(mine) != 1 || mine[0].PendingName != "Gamma" {
			t.Fatalf("pending of user: %+v", mine)
		}
		if f, err := s.PendingPublishersFor(ctx, "gamma"); err != nil || len(f) != 1 {
			t.Fatalf("pending for gamma: %v %v", f, err)
		}

		// A token of the publisher goes with it.
		tok := &store.Token{PublisherID: pub.ID, PublisherClaims: `{"sha":"abc"}`, Name: "GitHub", Prefix: "cheeseshop-abcd", Hash: "h1",
			Scoped: true, ProjectIDs: []int64{projects[0].ID}, ExpiresAt: now.Add(15 * time.Minute), CreatedAt: now}
		storetest.Must(t, s.CreateToken(ctx, tok))
		back, err := s.TokenByHash(ctx, "h1")
		storetest.Must(t, err)
		if back.UserID != 0 || back.PublisherID != pub.ID || back.PublisherClaims != `{"sha":"abc"}` || len(back.ProjectIDs) != 1 {
			t.Fatalf("publisher token read back as %+v", back)
		}
		if err := s.CreateToken(ctx, &store.Token{Name: "nobody's", Prefix: "p", Hash: "h2", CreatedAt: now}); err == nil {
			t.Fatal("a token with neither a user nor a publisher was stored")
		}

		left, err := s.UnlinkPublisher(ctx, pub.ID, projects[0].ID)
		storetest.Must(t, err)
		if left != 1 {
			t.Fatalf("%d projects left, want 1", left)
		}
		if err := s.ActivatePublisher(ctx, pending.ID); !store.IsUniqueViolation(err) {
			t.Fatalf("activating a pending publisher whose identity is active: %v, want a unique violation", err)
		}
		storetest.Must(t, s.DeletePublisher(ctx, pub.ID))
		storetest.Must(t, s.ActivatePublisher(ctx, pending.ID))
		if _, err := s.TokenByHash(ctx, "h1"); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the deleted publisher's token: %v, want not found", err)
		}
		act, err := s.ActivePublisherByIdentity(ctx, "github", pub.Identity)
		storetest.Must(t, err)
		if act.ID != pending.ID || act.Pending() {
			t.Fatalf("activated publisher %+v", act)
		}
	})
}

// TestClaimJTI: a jti is claimed once, whoever asks, however many ask at
// once; pruning forgets only the expired ones.
func TestClaimJTI(t *testing.T) {
	t.Parallel()
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC()
		const racers = 8
		var wg sync.WaitGroup
		wins := make(chan bool, racers)
		for range racers {
			wg.Go(func() {
				// Each inside a transaction, as the exchange claims it.
				err := s.InTx(ctx, func(tx *store.Tx) error {
					won, err := tx.ClaimJTI(ctx, "github", "jti-1", now.Add(time.Minute))
					wins <- won
					return err
				})
				if err != nil {
					t.Error(err)
				}
			})
		}
		wg.Wait()
		close(wins)
		n := 0
		for w := range wins {
			if w {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d concurrent claims of one jti won, want exactly 1", n)
		}
		if won, err := s.ClaimJTI(ctx, "gitlab", "jti-1", now.Add(time.Minute)); err != nil || !won {
			t.Fatalf("the same jti of another issuer: %v %v", won, err)
		}
		if won, err := s.ClaimJTI(ctx, "github", "old", now.Add(-time.Second)); err != nil || !won {
			t.Fatalf("claim old: %v %v", won, err)
		}
		pruned, err := s.PruneJTIs(ctx, now)
		storetest.Must(t, err)
		if pruned != 1 {
			t.Fatalf("pruned %d, want 1", pruned)
		}
		if won, err := s.ClaimJTI(ctx, "github", "jti-1", now.Add(time.Minute)); err != nil || won {
			t.Fatalf("a replay after pruning others: %v %v", won, err)
		}
	})
}

// TestTokensKeptByMigration21: the SQLite rebuild of api_tokens (to let
// user_id be NULL) keeps every token and its project scope.
func TestTokensKeptByMigration21(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		s, err := store.Open(ctx, storetest.URL(t, d))
		storetest.Must(t, err)
		t.Cleanup(func() { s.Close() })
		storetest.Must(t, s.MigrateTo(ctx, 20))
		u := &store.User{Username: "u", Email: "u@example.com", CreatedAt: time.Now().UTC()}
		storetest.Must(t, s.CreateUser(ctx, u))
		p := &store.Project{Name: "p", NormalizedName: "p", UltraName: "p", CreatedAt: time.Now().UTC()}
		storetest.Must(t, s.CreateProject(ctx, p))
		var id int64
		storetest.Must(t, s.DB().QueryRowContext(ctx, `INSERT INTO api_tokens (user_id, name, prefix, token_hash, scoped, created_at, can_manage)
			VALUES ($1, 'ci', 'cheeseshop-abcd', 'hash', TRUE, 1, TRUE) RETURNING id`, u.ID).Scan(&id))
		_, err = s.DB().ExecContext(ctx, `INSERT INTO api_token_projects (token_id, project_id) VALUES ($1, $2)`, id, p.ID)
		storetest.Must(t, err)
		storetest.Must(t, s.Migrate(ctx))
		tok, err := s.TokenByHash(ctx, "hash")
		storetest.Must(t, err)
		if tok.ID != id || tok.UserID != u.ID || tok.PublisherID != 0 || !tok.Scoped || !tok.CanManage || len(tok.ProjectIDs) != 1 || tok.ProjectIDs[0] != p.ID {
			t.Fatalf("token after the migration: %+v", tok)
		}
	})
}
