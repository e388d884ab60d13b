package index

import (
	"context"
	"strconv"
	"testing"
	"time"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestPublisherSnapshot checks what a file keeps of each kind of trusted
// publisher and of the claims its token kept, and that a user's upload
// keeps nothing.
func TestPublisherSnapshot(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		pub    store.Publisher
		claims string
		want   FilePublisher
	}{
		{"github",
			store.Publisher{Kind: store.PublisherGitHub, Issuer: "github", RepositoryOwner: "octo-org", RepositoryName: "octo-repo",
				WorkflowFilename: "release.yml", Environment: "pypi"},
			`{"ref":"refs/tags/v1","sha":"abc","job_workflow_ref":"x","run_id":"42"}`,
			FilePublisher{Kind: "github", Issuer: "github", Repository: "octo-org/octo-repo", Workflow: "release.yml",
				Environment: "pypi", Ref: "refs/tags/v1", SHA: "abc", RunID: "42"}},
		{"gitlab",
			store.Publisher{Kind: store.PublisherGitLab, Issuer: "gitlab", Instance: "gitlab.example", Namespace: "grp/sub",
				GitLabProject: "proj", CIConfigPath: ".gitlab-ci.yml"},
			`{"ref_path":"refs/heads/main","sha":"def","pipeline_id":"7"}`,
			FilePublisher{Kind: "gitlab", Issuer: "gitlab", Repository: "grp/sub/proj", Instance: "gitlab.example",
				Workflow: ".gitlab-ci.yml", Ref: "refs/heads/main", SHA: "def", RunID: "7"}},
		{"google",
			store.Publisher{Kind: store.PublisherGoogle, Issuer: "google", Email: "ci@p.iam.gserviceaccount.com", Subject: "123"},
			`{}`,
			FilePublisher{Kind: "google", Issuer: "google", Email: "ci@p.iam.gserviceaccount.com", Subject: "123"}},
		{"generic",
			store.Publisher{Kind: store.PublisherGeneric, Issuer: "forgejo", ClaimRules: `{"repository":"a/b"}`},
			`{"sub":"repo:a/b","sha":"fed"}`,
			FilePublisher{Kind: "generic", Issuer: "forgejo", Subject: "repo:a/b", SHA: "fed"}},
	}
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		for i, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				pub := tc.pub
				pub.Lookup, pub.Identity, pub.CreatedAt = "l", "identity"+strconv.Itoa(i), time.Now()
				storetest.Must(t, st.AddPublisher(ctx, &pub))
				tok := &store.Token{ID: 1, PublisherID: pub.ID, PublisherClaims: tc.claims, Name: "description " + tc.name}
				var got *FilePublisher
				storetest.Must(t, st.InTx(ctx, func(tx *store.Tx) error {
					snap, err := publisherSnapshot(ctx, tx, &Principal{Token: tok})
					got = filePublisher(&store.File{TrustedPublisher: snap})
					return err
				}))
				want := tc.want
				want.Description = tok.Name
				if got == nil || *got != want {
					t.Errorf("snapshot %+v, want %+v", got, want)
				}
			})
		}
		storetest.Must(t, st.InTx(ctx, func(tx *store.Tx) error {
			snap, err := publisherSnapshot(ctx, tx, &Principal{User: &store.User{ID: 1}, Token: &store.Token{ID: 2, UserID: 1}})
			if snap != "" || filePublisher(&store.File{TrustedPublisher: snap}) != nil {
				t.Errorf("a user's upload has the snapshot %q", snap)
			}
			return err
		}))
	})
}
