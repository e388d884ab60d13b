package oidctest

import "testing"

func TestClaimSets(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		claims map[string]any
		want   map[string]any
		absent []string
	}{
		{"GitHub push", GitHubClaims(GitHubRun{Audience: "a"}), map[string]any{
			"sub":              "repo:octo-org/octo-repo:ref:refs/heads/main",
			"repository_owner": "octo-org",
			"workflow_ref":     "octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main",
			"job_workflow_ref": "octo-org/octo-repo/.github/workflows/release.yml@refs/heads/main",
			"ref_type":         "branch",
		}, []string{"environment"}},
		{"GitHub tag in an environment, reusable workflow", GitHubClaims(GitHubRun{
			Audience: "a", Repository: "me/pkg", Ref: "refs/tags/v1", Environment: "pypi",
			JobWorkflowRef: "org/shared/.github/workflows/publish.yml@refs/heads/main",
		}), map[string]any{
			"sub":              "repo:me/pkg:environment:pypi",
			"environment":      "pypi",
			"ref_type":         "tag",
			"workflow_ref":     "me/pkg/.github/workflows/release.yml@refs/tags/v1",
			"job_workflow_ref": "org/shared/.github/workflows/publish.yml@refs/heads/main",
		}, nil},
		{"GitHub pull_request_target", GitHubClaims(GitHubRun{EventName: "pull_request_target", Extra: map[string]any{"x": "y"}}),
			map[string]any{"sub": "repo:octo-org/octo-repo:pull_request", "event_name": "pull_request_target", "x": "y"}, nil},
		{"GitLab subgroup tag", GitLabClaims(GitLabJob{
			Audience: "a", Host: "gitlab.corp.example", ProjectPath: "acme/tools/widget", Ref: "v1", RefType: "tag",
			CIConfigPath: "ci/release.yml", Environment: "release",
		}), map[string]any{
			"sub":               "project_path:acme/tools/widget:ref_type:tag:ref:v1",
			"namespace_path":    "acme/tools",
			"ci_config_ref_uri": "gitlab.corp.example/acme/tools/widget//ci/release.yml@refs/tags/v1",
			"environment":       "release",
			"ref_path":          "refs/tags/v1",
		}, nil},
	}
	for _, tc := range tests {
		for k, want := range tc.want {
			if got := tc.claims[k]; got != want {
				t.Errorf("%s: %s = %v, want %v", tc.name, k, got, want)
			}
		}
		for _, k := range tc.absent {
			if _, ok := tc.claims[k]; ok {
				t.Errorf("%s: %s present", tc.name, k)
			}
		}
	}
}
