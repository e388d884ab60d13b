package index

import (
	"context"
	"encoding/json"
	"fmt"

	"cheeseshop/internal/store"
)

// FilePublisher is who published a file through trusted publishing: the
// publisher as it was configured and the workflow run, as the ID token
// exchanged for the upload token said. It is kept with the file (a
// snapshot, store.File.TrustedPublisher), so it outlives the publisher,
// and is shown on the project's pages and, as "trusted_publisher", in
// the JSON API (a cheeseshop extension). Fields that do not belong to
// Kind are "".
type FilePublisher struct {
	// Kind is the publisher's kind: store.PublisherGitHub, GitLab,
	// Google or Generic.
	Kind string `json:"kind"`
	// Issuer names the OpenID Connect issuer: "github", "gitlab",
	// "google", or one the operator configured.
	Issuer string `json:"issuer"`
	// Description names the publisher and the commit for people, as the
	// upload events do ("GitHub octo/repo, workflow release.yml at
	// 0123456789ab").
	Description string `json:"description"`
	// Repository is GitHub's owner/name or GitLab's namespace/project;
	// Instance is the GitLab host.
	Repository string `json:"repository,omitempty"`
	Instance   string `json:"instance,omitempty"`
	// Workflow is GitHub's workflow file or GitLab's CI configuration
	// path.
	Workflow    string `json:"workflow,omitempty"`
	Environment string `json:"environment,omitempty"`
	// Email is a Google publisher's service account; Subject its
	// subject, or a generic publisher's token's sub claim.
	Email   string `json:"email,omitempty"`
	Subject string `json:"subject,omitempty"`
	// Ref and SHA are the git ref and commit the workflow ran on; RunID
	// the GitHub run or GitLab pipeline.
	Ref   string `json:"ref,omitempty"`
	SHA   string `json:"sha,omitempty"`
	RunID string `json:"run_id,omitempty"`
}

// publisherSnapshot describes the trusted publisher p acts for, with the
// claims its token kept, as JSON for store.File.TrustedPublisher. It is
// "" for a user.
func publisherSnapshot(ctx context.Context, tx *store.Tx, p *Principal) (string, error) {
	if !p.Publisher() {
		return "", nil
	}
	pub, err := tx.PublisherByID(ctx, p.Token.PublisherID)
	if err != nil {
		return "", fmt.Errorf("publisher snapshot: %w", err)
	}
	var claims map[string]string
	if p.Token.PublisherClaims != "" {
		if err := json.Unmarshal([]byte(p.Token.PublisherClaims), &claims); err != nil {
			return "", fmt.Errorf("publisher snapshot: claims of token %d: %w", p.Token.ID, err)
		}
	}
	fp := FilePublisher{Kind: pub.Kind, Issuer: pub.Issuer, Description: p.Token.Name, Environment: pub.Environment,
		Ref: claims["ref"], SHA: claims["sha"]}
	switch pub.Kind {
	case store.PublisherGitHub:
		fp.Repository, fp.Workflow, fp.RunID = pub.RepositoryOwner+"/"+pub.RepositoryName, pub.WorkflowFilename, claims["run_id"]
	case store.PublisherGitLab:
		fp.Repository, fp.Instance, fp.Workflow = pub.Namespace+"/"+pub.GitLabProject, pub.Instance, pub.CIConfigPath
		fp.Ref, fp.RunID = claims["ref_path"], claims["pipeline_id"]
	case store.PublisherGoogle:
		fp.Email, fp.Subject = pub.Email, pub.Subject
	default:
		fp.Subject = claims["sub"]
	}
	b, err := json.Marshal(fp)
	if err != nil {
		return "", fmt.Errorf("publisher snapshot: %w", err)
	}
	return string(b), nil
}

// filePublisher reads a file's publisher snapshot: nil for a file a user
// uploaded, or whose snapshot cannot be read (it is only shown).
func filePublisher(f *store.File) *FilePublisher {
	if f.TrustedPublisher == "" {
		return nil
	}
	var fp FilePublisher
	if json.Unmarshal([]byte(f.TrustedPublisher), &fp) != nil {
		return nil
	}
	return &fp
}
