package publish

import (
	"errors"
	"maps"
	"strings"
	"testing"

	"cheeseshop/internal/store"
)

// githubClaims is GitHub's documented example of an Actions ID token
// (docs.github.com, "About security hardening with OpenID Connect"),
// for octo-org/octo-repo's release.yml, with the jti and
// repository_owner_id it also carries.
func githubClaims() map[string]any {
	return map[string]any{
		"jti":                   "example-id",
		"sub":                   "repo:octo-org/octo-repo:environment:prod",
		"environment":           "prod",
		"aud":                   "cheeseshop.test",
		"ref":                   "refs/heads/main",
		"sha":                   "example-sha",
		"repository":            "octo-org/octo-repo",
		"repository_owner":      "octo-org",
		"repository_owner_id":   "123456",
		"actor_id":              "12",
		"repository_visibility": "private",
		"repository_id":         "74",
		"run_id":                "example-run-id",
		"run_number":            "10",
		"run_attempt":           "2",
		"runner_environment":    "github-hosted",
		"actor":                 "octocat",
		"workflow":              "example-workflow",
		"head_ref":              "",
		"base_ref":              "",
		"event_name":            "workflow_dispatch",
		"ref_type":              "branch",
		"job_workflow_ref":      "octo-org/octo-automation/.github/workflows/oidc.yml@refs/heads/main",
		"iss":                   "https://token.actions.githubusercontent.com",
		"nbf":                   float64(1632492967),
		"exp":                   float64(1632493867),
		"iat":                   float64(1632493567),
	}
}

// gitlabClaims is GitLab's documented ID token payload (docs.gitlab.com,
// "ID token authentication") for a project my-group/my-project.
func gitlabClaims() map[string]any {
	return map[string]any{
		"namespace_id":          "72",
		"namespace_path":        "my-group",
		"project_id":            "20",
		"project_path":          "my-group/my-project",
		"user_id":               "1",
		"user_login":            "sample-user",
		"user_email":            "sample-user@example.com",
		"user_identities":       []any{},
		"pipeline_id":           "574",
		"pipeline_source":       "push",
		"job_id":                "302",
		"ref":                   "feature-branch-1",
		"ref_type":              "branch",
		"ref_path":              "refs/heads/feature-branch-1",
		"ref_protected":         "false",
		"environment":           "test-environment2",
		"environment_protected": "false",
		"deployment_tier":       "testing",
		"environment_action":    "start",
		"runner_id":             float64(1),
		"runner_environment":    "self-hosted",
		"sha":                   "714a629c0b401fdce83e847fc9589983fc6f46bc",
		"project_visibility":    "public",
		"ci_config_ref_uri":     "gitlab.example.com/my-group/my-project//.gitlab-ci.yml@refs/heads/main",
		"ci_config_sha":         "714a629c0b401fdce83e847fc9589983fc6f46bc",
		"jti":                   "235b3a54-b797-45c7-ae9a-f72d7bc6ef5b",
		"iss":                   "https://gitlab.example.com",
		"iat":                   float64(1681395193),
		"nbf":                   float64(1681395188),
		"exp":                   float64(1681398793),
		"sub":                   "project_path:my-group/my-project:ref_type:branch:ref:feature-branch-1",
		"aud":                   "cheeseshop.test",
	}
}

func githubSpec() Spec {
	return Spec{Kind: store.PublisherGitHub, Owner: "octo-org", OwnerID: "123456", Repository: "octo-repo", Workflow: "oidc.yml"}
}

// match runs the whole match of claims against one publisher, as
// Exchange does after reading the candidates: required claims, lookup
// key, choice, verification.
func match(t *testing.T, pub *store.Publisher, c map[string]any) error {
	t.Helper()
	k := kinds[pub.Kind]
	if name := k.missing(c); name != "" {
		return noPublisher("Missing claim '" + name + "'")
	}
	lookup, err := k.lookup(c)
	if err != nil {
		return err
	}
	if lookup != pub.Lookup {
		return noPublisher("Publisher with matching claims was not found")
	}
	chosen := k.pick([]*store.Publisher{pub}, c)
	if chosen == nil {
		return noPublisher("Publisher with matching claims was not found")
	}
	return k.verify(chosen, c)
}

func mustBuild(t *testing.T, s Spec) *store.Publisher {
	t.Helper()
	p, err := build(s)
	if err != nil {
		t.Fatalf("build %+v: %v", s, err)
	}
	return p
}

// checkRefusal fails unless err is an invalid-publisher refusal whose
// description holds want.
func checkRefusal(t *testing.T, err error, want string) {
	t.Helper()
	if want == "" {
		if err != nil {
			t.Fatalf("refused: %v", err)
		}
		return
	}
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeInvalidPublisher || !strings.HasPrefix(e.Description, "valid token, but no corresponding publisher (") ||
		!strings.Contains(e.Description, want) {
		t.Fatalf("got %v, want invalid-publisher with %q", err, want)
	}
}

func TestGitHubMatching(t *testing.T) {
	t.Parallel()
	// GitHub's example uses a reusable workflow of another repository:
	// the publisher here is for that repository's own workflow.
	base := func() map[string]any {
		c := githubClaims()
		c["job_workflow_ref"] = "octo-org/octo-repo/.github/workflows/oidc.yml@refs/heads/main"
		return c
	}
	tests := []struct {
		name   string
		spec   func(s *Spec)
		claims func(c map[string]any)
		want   string // "" accepted, else part of the description
	}{
		{name: "documented claims"},
		{name: "workflow at the sha", claims: func(c map[string]any) {
			c["job_workflow_ref"] = "octo-org/octo-repo/.github/workflows/oidc.yml@example-sha"
		}},
		{name: "repository case differs", claims: func(c map[string]any) {
			c["repository"], c["sub"] = "Octo-Org/Octo-Repo", "repo:Octo-Org/Octo-Repo:ref:refs/heads/main"
			c["job_workflow_ref"] = "Octo-Org/Octo-Repo/.github/workflows/oidc.yml@refs/heads/main"
		}},
		{name: "environment required and given, other case", spec: func(s *Spec) { s.Environment = "PROD" }},
		{name: "environment required, claim missing", spec: func(s *Spec) { s.Environment = "prod" },
			claims: func(c map[string]any) { delete(c, "environment") }, want: "Publisher with matching claims was not found"},
		{name: "environment required, another given", spec: func(s *Spec) { s.Environment = "prod" },
			claims: func(c map[string]any) { c["environment"] = "staging" }, want: "Publisher with matching claims was not found"},
		{name: "no environment configured, any accepted", claims: func(c map[string]any) { c["environment"] = "anything" }},
		{name: "another repository", claims: func(c map[string]any) { c["repository"] = "octo-org/other" },
			want: "Publisher with matching claims was not found"},
		{name: "owner id differs (a resurrected owner name)", claims: func(c map[string]any) { c["repository_owner_id"] = "999" },
			want: "Publisher with matching claims was not found"},
		{name: "owner differs", claims: func(c map[string]any) { c["repository_owner"] = "evil-org" },
			want: "Check failed for required claim 'repository_owner'"},
		{name: "sub of another repository", claims: func(c map[string]any) { c["sub"] = "repo:evil/octo-repo:ref:x" },
			want: "Check failed for required claim 'sub'"},
		{name: "sub malformed", claims: func(c map[string]any) { c["sub"] = "octo-org/octo-repo" },
			want: "Check failed for required claim 'sub'"},
		{name: "another workflow", claims: func(c map[string]any) {
			c["job_workflow_ref"] = "octo-org/octo-repo/.github/workflows/other.yml@refs/heads/main"
		}, want: "Publisher with matching claims was not found"},
		{name: "workflow of another repository", claims: func(c map[string]any) {
			c["job_workflow_ref"] = "octo-org/octo-automation/.github/workflows/oidc.yml@refs/heads/main"
		}, want: "The job_workflow_ref claim does not match, expecting one of ['octo-org/octo-repo/.github/workflows/oidc.yml@example-sha', 'octo-org/octo-repo/.github/workflows/oidc.yml@refs/heads/main'], got 'octo-org/octo-automation/.github/workflows/oidc.yml@refs/heads/main'"},
		{name: "workflow at another ref", claims: func(c map[string]any) {
			c["job_workflow_ref"] = "octo-org/octo-repo/.github/workflows/oidc.yml@refs/heads/evil"
		}, want: "The job_workflow_ref claim does not match"},
		{name: "no workflow file in the ref", claims: func(c map[string]any) { c["job_workflow_ref"] = "octo-org/octo-repo@main" },
			want: "Could not extract workflow filename from OIDC claims"},
		{name: "ref and sha empty", claims: func(c map[string]any) { c["ref"], c["sha"] = "", "" },
			want: "The ref and sha claims are empty"},
		{name: "pull_request_target", claims: func(c map[string]any) { c["event_name"] = "pull_request_target" },
			want: "pull_request_target is not allowed"},
		{name: "pull_request is fine", claims: func(c map[string]any) { c["event_name"] = "pull_request" }},
		{name: "owner id as a JSON number", claims: func(c map[string]any) { c["repository_owner_id"] = float64(123456) }},
	}
	for _, name := range []string{"sub", "repository", "repository_owner", "repository_owner_id", "job_workflow_ref", "jti", "ref", "sha"} {
		tests = append(tests, struct {
			name   string
			spec   func(s *Spec)
			claims func(c map[string]any)
			want   string
		}{name: "missing " + name, claims: func(c map[string]any) { delete(c, name) }, want: "Missing claim '" + name + "'"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := githubSpec()
			if tt.spec != nil {
				tt.spec(&s)
			}
			c := base()
			if tt.claims != nil {
				tt.claims(c)
			}
			checkRefusal(t, match(t, mustBuild(t, s), c), tt.want)
		})
	}
}

func TestGitLabMatching(t *testing.T) {
	t.Parallel()
	spec := func() Spec {
		return Spec{Kind: store.PublisherGitLab, Instance: "gitlab.example.com", Namespace: "my-group", Project: "my-project",
			CIConfigPath: ".gitlab-ci.yml"}
	}
	tests := []struct {
		name   string
		spec   func(s *Spec)
		claims func(c map[string]any)
		want   string
	}{
		{name: "documented claims"},
		{name: "config at the sha", claims: func(c map[string]any) {
			c["ci_config_ref_uri"] = "gitlab.example.com/my-group/my-project//.gitlab-ci.yml@714a629c0b401fdce83e847fc9589983fc6f46bc"
		}},
		{name: "config in a folder", spec: func(s *Spec) { s.CIConfigPath = "ci/release.yml" }, claims: func(c map[string]any) {
			c["ci_config_ref_uri"] = "gitlab.example.com/my-group/my-project//ci/release.yml@refs/heads/feature-branch-1"
		}},
		{name: "subgroup", spec: func(s *Spec) { s.Namespace = "my-group/sub" }, claims: func(c map[string]any) {
			c["project_path"], c["sub"] = "my-group/sub/my-project", "project_path:my-group/sub/my-project:ref_type:branch"
			c["ci_config_ref_uri"] = "gitlab.example.com/my-group/sub/my-project//.gitlab-ci.yml@refs/heads/feature-branch-1"
		}},
		{name: "environment required and given", spec: func(s *Spec) { s.Environment = "test-environment2" }},
		{name: "environment is case-sensitive", spec: func(s *Spec) { s.Environment = "Test-Environment2" },
			want: "Publisher with matching claims was not found"},
		{name: "environment required, claim missing", spec: func(s *Spec) { s.Environment = "prod" },
			claims: func(c map[string]any) { delete(c, "environment") }, want: "Publisher with matching claims was not found"},
		{name: "another project", claims: func(c map[string]any) { c["project_path"] = "my-group/other" },
			want: "Publisher with matching claims was not found"},
		{name: "sub of another project", claims: func(c map[string]any) { c["sub"] = "project_path:evil/my-project:ref_type:branch" },
			want: "Check failed for required claim 'sub'"},
		{name: "another config file", claims: func(c map[string]any) {
			c["ci_config_ref_uri"] = "gitlab.example.com/my-group/my-project//evil.yml@refs/heads/feature-branch-1"
		}, want: "Publisher with matching claims was not found"},
		{name: "another instance", claims: func(c map[string]any) {
			c["ci_config_ref_uri"] = "gitlab.com/my-group/my-project//.gitlab-ci.yml@refs/heads/feature-branch-1"
		}, want: "The ci_config_ref_uri claim does not match, expecting one of ['gitlab.example.com/my-group/my-project//.gitlab-ci.yml@714a629c0b401fdce83e847fc9589983fc6f46bc', 'gitlab.example.com/my-group/my-project//.gitlab-ci.yml@refs/heads/feature-branch-1']"},
		{name: "config of another project", claims: func(c map[string]any) {
			c["ci_config_ref_uri"] = "gitlab.example.com/evil/ci//.gitlab-ci.yml@refs/heads/feature-branch-1"
		}, want: "The ci_config_ref_uri claim does not match"},
		{name: "ref_path empty", claims: func(c map[string]any) { c["ref_path"] = "" }, want: "The ref_path and sha claims are empty"},
	}
	for _, name := range []string{"sub", "project_path", "ci_config_ref_uri", "jti", "ref_path", "sha"} {
		tests = append(tests, struct {
			name   string
			spec   func(s *Spec)
			claims func(c map[string]any)
			want   string
		}{name: "missing " + name, claims: func(c map[string]any) { delete(c, name) }, want: "Missing claim '" + name + "'"})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := spec()
			if tt.spec != nil {
				tt.spec(&s)
			}
			c := gitlabClaims()
			// The documented payload's config ref is main; this job runs
			// on feature-branch-1, whose config it reads.
			c["ci_config_ref_uri"] = "gitlab.example.com/my-group/my-project//.gitlab-ci.yml@refs/heads/feature-branch-1"
			if tt.claims != nil {
				tt.claims(c)
			}
			checkRefusal(t, match(t, mustBuild(t, s), c), tt.want)
		})
	}
}

func TestGoogleAndGenericMatching(t *testing.T) {
	t.Parallel()
	google := func() map[string]any {
		return map[string]any{"iss": "https://accounts.google.com", "aud": "cheeseshop.test", "azp": "1", "sub": "1112",
			"email": "ci@project.iam.gserviceaccount.com", "email_verified": true, "exp": float64(2), "iat": float64(1)}
	}
	forgejo := func() map[string]any {
		return map[string]any{"iss": "https://code.example.org/api/actions", "sub": "repo:team/tool:ref:refs/tags/v1",
			"repository": "team/tool", "workflow_ref": "team/tool/.forgejo/workflows/release.yml@refs/tags/v1", "ref": "refs/tags/v1",
			"jti": "j1"}
	}
	rules := map[string]string{"repository": "team/tool", "workflow_ref": "team/tool/.forgejo/workflows/release.yml@refs/tags/v1"}
	tests := []struct {
		name   string
		spec   Spec
		claims map[string]any
		change func(c map[string]any)
		want   string
	}{
		{name: "google", spec: Spec{Kind: store.PublisherGoogle, Email: "ci@project.iam.gserviceaccount.com"}, claims: google()},
		{name: "google with its subject", spec: Spec{Kind: store.PublisherGoogle, Email: "ci@project.iam.gserviceaccount.com", Subject: "1112"}, claims: google()},
		{name: "google, another subject", spec: Spec{Kind: store.PublisherGoogle, Email: "ci@project.iam.gserviceaccount.com", Subject: "9"},
			claims: google(), want: "Publisher with matching claims was not found"},
		{name: "google, email not verified", spec: Spec{Kind: store.PublisherGoogle, Email: "ci@project.iam.gserviceaccount.com"},
			claims: google(), change: func(c map[string]any) { c["email_verified"] = "true" }, want: "Check failed for required claim 'email_verified'"},
		{name: "google, missing email_verified", spec: Spec{Kind: store.PublisherGoogle, Email: "ci@project.iam.gserviceaccount.com"},
			claims: google(), change: func(c map[string]any) { delete(c, "email_verified") }, want: "Missing claim 'email_verified'"},
		{name: "google, another email", spec: Spec{Kind: store.PublisherGoogle, Email: "ci@project.iam.gserviceaccount.com"},
			claims: google(), change: func(c map[string]any) { c["email"] = "evil@x.iam.gserviceaccount.com" }, want: "Publisher with matching claims was not found"},
		{name: "generic", spec: Spec{Kind: store.PublisherGeneric, Issuer: "forgejo", Rules: rules}, claims: forgejo()},
		{name: "generic, a rule fails", spec: Spec{Kind: store.PublisherGeneric, Issuer: "forgejo", Rules: rules}, claims: forgejo(),
			change: func(c map[string]any) { c["workflow_ref"] = "team/tool/.forgejo/workflows/evil.yml@refs/tags/v1" },
			want:   "Publisher with matching claims was not found"},
		{name: "generic, a claim missing", spec: Spec{Kind: store.PublisherGeneric, Issuer: "forgejo", Rules: rules}, claims: forgejo(),
			change: func(c map[string]any) { delete(c, "repository") }, want: "Publisher with matching claims was not found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := maps.Clone(tt.claims)
			if tt.change != nil {
				tt.change(c)
			}
			checkRefusal(t, match(t, mustBuild(t, tt.spec), c), tt.want)
		})
	}
}

// TestSpecRefused: configurations that cannot match anything are
// refused when added.
func TestSpecRefused(t *testing.T) {
	t.Parallel()
	for _, s := range []Spec{
		{Kind: store.PublisherGitHub, Owner: "octo", OwnerID: "abc", Repository: "r", Workflow: "w.yml"},
		{Kind: store.PublisherGitHub, Owner: "octo", OwnerID: "1", Repository: "r", Workflow: ".github/workflows/w.yml"},
		{Kind: store.PublisherGitHub, Owner: "octo/x", OwnerID: "1", Repository: "r", Workflow: "w.yml"},
		{Kind: store.PublisherGitHub, Owner: "octo", OwnerID: "1", Repository: "r", Workflow: "w.txt"},
		{Kind: store.PublisherGitLab, Namespace: "g", Project: "p/q", CIConfigPath: ".gitlab-ci.yml"},
		{Kind: store.PublisherGitLab, Namespace: "g", Project: "p", CIConfigPath: "/.gitlab-ci.yml"},
		{Kind: store.PublisherGoogle, Email: "nobody"},
		{Kind: store.PublisherGeneric, Issuer: "forgejo"},
		{Kind: store.PublisherGeneric, Issuer: "forgejo", Rules: map[string]string{"aud": "x"}},
		{Kind: store.PublisherGeneric, Rules: map[string]string{"sub": "x"}},
		{Kind: "jenkins"},
	} {
		if _, err := build(s); err == nil {
			t.Errorf("%+v accepted", s)
		}
	}
}

// TestWorkflowFilename: the workflow file is found as Warehouse's
// expression finds it, overlapping delimiters included.
func TestWorkflowFilename(t *testing.T) {
	t.Parallel()
	for ref, want := range map[string]string{
		"o/r/.github/workflows/release.yml@refs/heads/main":      "release.yml",
		"o/r/.github/workflows/release.yaml@refs/tags/v1.yml":    "release.yaml",
		"o/r/.github/workflows/a@b.yml@refs/heads/main":          "a@b.yml",
		"o/r/.github/workflows/release.yml@refs/heads/x.yml@foo": "release.yml",
		"o/r/.github/workflows/release.json@main":                "",
	} {
		if got := workflowFilename(ref); got != want {
			t.Errorf("workflowFilename(%q) = %q, want %q", ref, got, want)
		}
	}
	for uri, want := range map[string]string{
		"gitlab.com/g/p//.gitlab-ci.yml@refs/heads/main": ".gitlab-ci.yml",
		"gitlab.com/g/p//ci/a/b.yaml@refs/heads/main":    "ci/a/b.yaml",
		"gitlab.com/g/p//.yml@refs/heads/main":           "",
	} {
		if got := ciConfigFile(uri); got != want {
			t.Errorf("ciConfigFile(%q) = %q, want %q", uri, got, want)
		}
	}
}
