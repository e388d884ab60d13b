package oidctest

import (
	"strconv"
	"strings"
)

// GitHubRun describes a GitHub Actions job, for GitHubClaims. Empty
// fields take a plausible value.
type GitHubRun struct {
	Audience       string
	Repository     string // owner/name; "octo-org/octo-repo"
	RepositoryID   string
	OwnerID        string // repository_owner_id
	Workflow       string // the file in .github/workflows/; "release.yml"
	Ref            string // "refs/heads/main"
	SHA            string
	Environment    string // "" for a job without one
	EventName      string // "push"
	JobWorkflowRef string // the reusable workflow called, if any
	RunnerEnv      string // "github-hosted"
	RepoVisibility string // "public"
	Actor, ActorID string
	RunID          string
	Extra          map[string]any // set last, overriding the above
}

// GitHubClaims returns the claims of a GitHub Actions ID token for the
// run, as documented in "OpenID Connect reference" (docs.github.com):
// sub, repository, repository_id, repository_owner, repository_owner_id,
// repository_visibility, workflow, workflow_ref, workflow_sha,
// job_workflow_ref, job_workflow_sha, ref, ref_type, ref_protected, sha,
// environment (when the job has one), event_name, actor, actor_id,
// run_id, run_number, run_attempt, runner_environment, base_ref and
// head_ref, plus aud.
func GitHubClaims(r GitHubRun) map[string]any {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&r.Repository, "octo-org/octo-repo")
	def(&r.RepositoryID, "74")
	def(&r.OwnerID, "65")
	def(&r.Workflow, "release.yml")
	def(&r.Ref, "refs/heads/main")
	def(&r.SHA, "example0sha0000000000000000000000000000a")
	def(&r.EventName, "push")
	def(&r.RunnerEnv, "github-hosted")
	def(&r.RepoVisibility, "public")
	def(&r.Actor, "octocat")
	def(&r.ActorID, "12")
	def(&r.RunID, "4242")
	owner, _, _ := strings.Cut(r.Repository, "/")
	workflowRef := r.Repository + "/.github/workflows/" + r.Workflow + "@" + r.Ref
	def(&r.JobWorkflowRef, workflowRef)
	refType := "branch"
	if strings.HasPrefix(r.Ref, "refs/tags/") {
		refType = "tag"
	}
	sub := "repo:" + r.Repository + ":ref:" + r.Ref
	switch {
	case r.Environment != "":
		sub = "repo:" + r.Repository + ":environment:" + r.Environment
	case r.EventName == "pull_request" || r.EventName == "pull_request_target":
		sub = "repo:" + r.Repository + ":pull_request"
	}
	c := map[string]any{
		"aud":                   r.Audience,
		"sub":                   sub,
		"repository":            r.Repository,
		"repository_id":         r.RepositoryID,
		"repository_owner":      owner,
		"repository_owner_id":   r.OwnerID,
		"repository_visibility": r.RepoVisibility,
		"workflow":              strings.TrimSuffix(strings.TrimSuffix(r.Workflow, ".yml"), ".yaml"),
		"workflow_ref":          workflowRef,
		"workflow_sha":          r.SHA,
		"job_workflow_ref":      r.JobWorkflowRef,
		"job_workflow_sha":      r.SHA,
		"ref":                   r.Ref,
		"ref_type":              refType,
		"ref_protected":         "false",
		"sha":                   r.SHA,
		"event_name":            r.EventName,
		"actor":                 r.Actor,
		"actor_id":              r.ActorID,
		"run_id":                r.RunID,
		"run_number":            "7",
		"run_attempt":           "1",
		"runner_environment":    r.RunnerEnv,
		"base_ref":              "",
		"head_ref":              "",
	}
	if r.Environment != "" {
		c["environment"] = r.Environment
	}
	for k, v := range r.Extra {
		c[k] = v
	}
	return c
}

// GitLabJob describes a GitLab CI job, for GitLabClaims. Empty fields
// take a plausible value.
type GitLabJob struct {
	Audience       string
	Host           string // of the instance, for ci_config_ref_uri; "gitlab.com"
	ProjectPath    string // namespace/project (subgroups allowed); "acme/widget"
	ProjectID      int
	NamespaceID    int
	CIConfigPath   string // ".gitlab-ci.yml"
	Ref            string // a branch or tag name, not a refs/ path; "main"
	RefType        string // "branch" or "tag"
	SHA            string
	Environment    string // "" for a job without one
	PipelineSource string // "push"
	UserLogin      string
	RunnerEnv      string         // "gitlab-hosted"
	Extra          map[string]any // set last, overriding the above
}

// GitLabClaims returns the claims of a GitLab CI ID token for the job,
// as documented in "OpenID Connect (OIDC) Authentication Using ID Tokens"
// (docs.gitlab.com): sub, namespace_id, namespace_path, project_id,
// project_path, user_id, user_login, user_email, user_access_level,
// pipeline_id, pipeline_source, job_id, ref, ref_type, ref_path,
// ref_protected, environment, environment_protected, deployment_tier
// (with an environment), runner_id, runner_environment, sha,
// project_visibility, ci_config_ref_uri and ci_config_sha, plus aud.
// GitLab writes ids as strings.
func GitLabClaims(j GitLabJob) map[string]any {
	def := func(s *string, v string) {
		if *s == "" {
			*s = v
		}
	}
	def(&j.Host, "gitlab.com")
	def(&j.ProjectPath, "acme/widget")
	def(&j.CIConfigPath, ".gitlab-ci.yml")
	def(&j.Ref, "main")
	def(&j.RefType, "branch")
	def(&j.SHA, "example0sha0000000000000000000000000000b")
	def(&j.PipelineSource, "push")
	def(&j.UserLogin, "jdoe")
	def(&j.RunnerEnv, "gitlab-hosted")
	if j.ProjectID == 0 {
		j.ProjectID = 22
	}
	if j.NamespaceID == 0 {
		j.NamespaceID = 4
	}
	namespace := j.ProjectPath
	if i := strings.LastIndexByte(namespace, '/'); i >= 0 {
		namespace = namespace[:i]
	}
	refPath := "refs/heads/" + j.Ref
	if j.RefType == "tag" {
		refPath = "refs/tags/" + j.Ref
	}
	c := map[string]any{
		"aud":                j.Audience,
		"sub":                "project_path:" + j.ProjectPath + ":ref_type:" + j.RefType + ":ref:" + j.Ref,
		"namespace_id":       strconv.Itoa(j.NamespaceID),
		"namespace_path":     namespace,
		"project_id":         strconv.Itoa(j.ProjectID),
		"project_path":       j.ProjectPath,
		"project_visibility": "public",
		"user_id":            "1",
		"user_login":         j.UserLogin,
		"user_email":         j.UserLogin + "@example.com",
		"user_access_level":  "maintainer",
		"pipeline_id":        "1000",
		"pipeline_source":    j.PipelineSource,
		"job_id":             "1212",
		"ref":                j.Ref,
		"ref_type":           j.RefType,
		"ref_path":           refPath,
		"ref_protected":      "true",
		"runner_id":          "1",
		"runner_environment": j.RunnerEnv,
		"sha":                j.SHA,
		"ci_config_ref_uri":  j.Host + "/" + j.ProjectPath + "//" + j.CIConfigPath + "@" + refPath,
		"ci_config_sha":      j.SHA,
	}
	if j.Environment != "" {
		c["environment"] = j.Environment
		c["environment_protected"] = "false"
		c["deployment_tier"] = "production"
	}
	for k, v := range j.Extra {
		c[k] = v
	}
	return c
}
