package publish

import (
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"cheeseshop/internal/pep"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
)

// Spec is a publisher as an Owner configures it (or an account, for a
// pending publisher). Only the fields of its Kind are read.
type Spec struct {
	Kind string // store.PublisherGitHub, PublisherGitLab, PublisherGoogle or PublisherGeneric
	// Issuer names the issuer; "" is the kind's public one ("github",
	// "gitlab", "google"). A generic publisher, and a GitLab one on a
	// self-managed instance, name an issuer the operator configured.
	Issuer string
	// GitHub: the repository's owner, the owner's numeric id (which a
	// new account taking a deleted owner's name does not have), the
	// repository's name, and the workflow's file name in
	// .github/workflows/.
	Owner, OwnerID, Repository, Workflow string
	// GitLab: the instance's host ("" is gitlab.com), the project's
	// namespace (a group may have subgroups) and name, and the path of
	// its CI configuration file.
	Instance, Namespace, Project, CIConfigPath string
	// Google: the service account's email and, optionally, its subject.
	Email, Subject string
	// Rules are, for a generic publisher, the claims that must equal
	// the given values (at least one).
	Rules map[string]string
	// Environment optionally limits a GitHub or GitLab publisher to a
	// deployment environment.
	Environment string
}

// publicIssuers are the issuers every kind but the generic one defaults
// to.
var publicIssuers = map[string]string{
	store.PublisherGitHub: "github",
	store.PublisherGitLab: "gitlab",
	store.PublisherGoogle: "google",
}

// maxField bounds every configured field, in bytes.
const maxField = 255

var (
	githubName   = regexp.MustCompile(`^[A-Za-z0-9._-]+$`)
	digits       = regexp.MustCompile(`^[0-9]+$`)
	workflowFile = regexp.MustCompile(`^[^/]+\.(?:yml|yaml)$`)
	gitlabPath   = regexp.MustCompile(`^[A-Za-z0-9._-]+(?:/[A-Za-z0-9._-]+)*$`)
	ciConfigPath = regexp.MustCompile(`^[^/].*[^/]\.(?:yml|yaml)$`)
	hostName     = regexp.MustCompile(`^[A-Za-z0-9.-]+(?::[0-9]+)?$`)
	claimName    = regexp.MustCompile(`^[A-Za-z0-9_.:-]+$`)
)

// invalid is a refusal of a publisher's configuration.
func invalid(format string, args ...any) error {
	return problem.Errorf(problem.Invalid, format, args...)
}

// invalidField is a refusal of one field of a publisher's configuration,
// named as the management API and the web forms name it, so that a form
// shows the message beside the field.
func invalidField(field, format string, args ...any) error {
	e := problem.Errorf(problem.Invalid, format, args...)
	e.Fields = map[string]string{field: e.Message}
	return e
}

// build checks a configuration and returns the publisher it describes,
// with its lookup key and identity, not yet stored.
func build(spec Spec) (*store.Publisher, error) {
	p := &store.Publisher{Kind: spec.Kind, Issuer: strings.TrimSpace(spec.Issuer)}
	if p.Issuer == "" {
		p.Issuer = publicIssuers[spec.Kind]
	}
	fields := []string{p.Issuer, spec.Owner, spec.OwnerID, spec.Repository, spec.Workflow, spec.Instance, spec.Namespace, spec.Project,
		spec.CIConfigPath, spec.Email, spec.Subject, spec.Environment}
	for k, v := range spec.Rules {
		fields = append(fields, k, v)
	}
	for _, f := range fields {
		if len(f) > maxField {
			return nil, invalid("Every field of a trusted publisher is at most %d bytes long.", maxField)
		}
	}
	env := strings.TrimSpace(spec.Environment)
	switch spec.Kind {
	case store.PublisherGitHub:
		p.RepositoryOwner, p.RepositoryOwnerID = strings.TrimSpace(spec.Owner), strings.TrimSpace(spec.OwnerID)
		p.RepositoryName, p.WorkflowFilename = strings.TrimSpace(spec.Repository), strings.TrimSpace(spec.Workflow)
		const badName = "Give the repository's owner and name as GitHub spells them (letters, digits, '.', '_' and '-')."
		switch {
		case !githubName.MatchString(p.RepositoryOwner):
			return nil, invalidField("owner", badName)
		case !githubName.MatchString(p.RepositoryName):
			return nil, invalidField("repository", badName)
		case !digits.MatchString(p.RepositoryOwnerID):
			return nil, invalidField("owner_id", "Give the numeric id of the repository's owner (https://api.github.com/users/<owner> shows it as \"id\").")
		case !workflowFile.MatchString(p.WorkflowFilename):
			return nil, invalidField("workflow", "Give the workflow's file name in .github/workflows/, ending in .yml or .yaml (for instance release.yml).")
		}
		// GitHub's environments are case-insensitive: kept lower-cased.
		p.Environment = strings.ToLower(env)
		p.Lookup = githubLookup(p.RepositoryOwner+"/"+p.RepositoryName, p.RepositoryOwnerID, p.WorkflowFilename)
		p.Identity = p.Lookup + "|" + p.Environment
	case store.PublisherGitLab:
		p.Instance = strings.ToLower(strings.TrimSpace(spec.Instance))
		if p.Instance == "" {
			p.Instance = "gitlab.com"
		}
		p.Namespace, p.GitLabProject = strings.Trim(strings.TrimSpace(spec.Namespace), "/"), strings.TrimSpace(spec.Project)
		p.CIConfigPath = strings.TrimSpace(spec.CIConfigPath)
		const badPath = "Give the project's namespace (a user or group, with its subgroups) and its name, as in its URL."
		switch {
		case !hostName.MatchString(p.Instance):
			return nil, invalidField("instance", "Give the GitLab instance's host name (gitlab.com, or your own).")
		case !gitlabPath.MatchString(p.Namespace):
			return nil, invalidField("namespace", badPath)
		case !gitlabPath.MatchString(p.GitLabProject) || strings.Contains(p.GitLabProject, "/"):
			return nil, invalidField("project", badPath)
		case !ciConfigPath.MatchString(p.CIConfigPath):
			return nil, invalidField("ci_config_path", "Give the path of the CI configuration file in the repository, ending in .yml or .yaml (for instance .gitlab-ci.yml).")
		}
		p.Environment = env
		p.Lookup = gitlabLookup(p.Namespace+"/"+p.GitLabProject, p.CIConfigPath)
		p.Identity = p.Instance + "|" + p.Lookup + "|" + p.Environment
	case store.PublisherGoogle:
		p.Email, p.Subject = strings.TrimSpace(spec.Email), strings.TrimSpace(spec.Subject)
		if !strings.Contains(p.Email, "@") || strings.ContainsAny(p.Email, " \t\r\n") {
			return nil, invalidField("email", "Give the email address of the Google service account.")
		}
		p.Lookup = p.Email
		p.Identity = p.Email + "|" + p.Subject
	case store.PublisherGeneric:
		if p.Issuer == "" {
			return nil, invalid("A generic publisher names an issuer that the operator of this index configured.")
		}
		if len(spec.Rules) == 0 || len(spec.Rules) > 16 {
			return nil, invalidField("rules", "A generic publisher names 1 to 16 claims and the value each must have.")
		}
		rules := map[string]string{}
		for k, v := range spec.Rules {
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if !claimName.MatchString(k) || v == "" || preverified[k] || k == "jti" {
				return nil, invalidField("rules", "Claim rules name a claim of the ID token (not iss, aud, exp, nbf, iat or jti) and a value it must equal.")
			}
			rules[k] = v
		}
		b, err := json.Marshal(rules) // keys sorted: a canonical form
		if err != nil {
			return nil, fmt.Errorf("publish: claim rules: %w", err)
		}
		p.ClaimRules = string(b)
		p.Identity = p.ClaimRules
	default:
		return nil, invalid("Unknown kind of trusted publisher %q: choose github, gitlab, google or generic.", spec.Kind)
	}
	return p, nil
}

// preverified are the claims the signature verification checked.
var preverified = map[string]bool{"iss": true, "aud": true, "exp": true, "nbf": true, "iat": true}

func githubLookup(repository, ownerID, workflow string) string {
	return strings.ToLower(repository) + "|" + ownerID + "|" + workflow
}

func gitlabLookup(projectPath, ciConfigPath string) string {
	return strings.ToLower(projectPath) + "|" + ciConfigPath
}

// claim reads a claim as a string: strings as they are, integers in
// decimal, booleans as true or false. present is false when the claim
// is missing or null.
func claim(c map[string]any, name string) (v string, present bool) {
	switch x := c[name].(type) {
	case nil:
		return "", false
	case string:
		return x, true
	case bool:
		return strconv.FormatBool(x), true
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return strconv.FormatInt(int64(x), 10), true
		}
		return strconv.FormatFloat(x, 'g', -1, 64), true
	case json.Number:
		return x.String(), true
	default:
		return fmt.Sprint(x), true
	}
}

// kind holds the rules of one kind of publisher, after Warehouse's
// models (warehouse/oidc/models/*.py).
type kind struct {
	// required are the claims every token must carry.
	required []string
	// lookup is the key of the candidates for the claims.
	lookup func(c map[string]any) (string, error)
	// pick chooses among the candidates the most specific one that
	// the claims may match (nil: none).
	pick func(cands []*store.Publisher, c map[string]any) *store.Publisher
	// verify checks every claim the publisher constrains.
	verify func(p *store.Publisher, c map[string]any) error
}

var kinds = map[string]kind{
	store.PublisherGitHub: {
		required: []string{"sub", "repository", "repository_owner", "repository_owner_id", "job_workflow_ref", "jti", "ref", "sha"},
		lookup: func(c map[string]any) (string, error) {
			repo, _ := claim(c, "repository")
			ownerID, _ := claim(c, "repository_owner_id")
			ref, _ := claim(c, "job_workflow_ref")
			file := workflowFilename(ref)
			if file == "" {
				return "", noPublisher("Could not extract workflow filename from OIDC claims")
			}
			return githubLookup(repo, ownerID, file), nil
		},
		pick: func(cands []*store.Publisher, c map[string]any) *store.Publisher {
			env, _ := claim(c, "environment")
			return pickEnvironment(cands, strings.ToLower(env))
		},
		verify: verifyGitHub,
	},
	store.PublisherGitLab: {
		required: []string{"sub", "project_path", "ci_config_ref_uri", "jti", "ref_path", "sha"},
		lookup: func(c map[string]any) (string, error) {
			path, _ := claim(c, "project_path")
			uri, _ := claim(c, "ci_config_ref_uri")
			file := ciConfigFile(uri)
			if file == "" {
				return "", noPublisher("Could not extract workflow filename from OIDC claims")
			}
			return gitlabLookup(path, file), nil
		},
		pick: func(cands []*store.Publisher, c map[string]any) *store.Publisher {
			env, _ := claim(c, "environment")
			return pickEnvironment(cands, env)
		},
		verify: verifyGitLab,
	},
	store.PublisherGoogle: {
		required: []string{"email", "email_verified"},
		lookup: func(c map[string]any) (string, error) {
			email, _ := claim(c, "email")
			return email, nil
		},
		pick: func(cands []*store.Publisher, c map[string]any) *store.Publisher {
			if sub, _ := claim(c, "sub"); sub != "" {
				if i := slices.IndexFunc(cands, func(p *store.Publisher) bool { return p.Subject == sub }); i >= 0 {
					return cands[i]
				}
			}
			if i := slices.IndexFunc(cands, func(p *store.Publisher) bool { return p.Subject == "" }); i >= 0 {
				return cands[i]
			}
			return nil
		},
		verify: verifyGoogle,
	},
	store.PublisherGeneric: {
		lookup: func(map[string]any) (string, error) { return "", nil },
		pick: func(cands []*store.Publisher, c map[string]any) *store.Publisher {
			// The publisher with the most rules that all hold.
			var best *store.Publisher
			bestN := 0
			for _, p := range cands {
				rules, err := claimRules(p)
				if err != nil || len(rules) <= bestN || checkRules(rules, c) != nil {
					continue
				}
				best, bestN = p, len(rules)
			}
			return best
		},
		verify: func(p *store.Publisher, c map[string]any) error {
			rules, err := claimRules(p)
			if err != nil {
				return err
			}
			return checkRules(rules, c)
		},
	},
}

// pickEnvironment chooses the publisher of the token's environment, or
// else the one with no environment (GitHub, GitLab).
func pickEnvironment(cands []*store.Publisher, env string) *store.Publisher {
	if env != "" {
		if i := slices.IndexFunc(cands, func(p *store.Publisher) bool { return p.Environment == env }); i >= 0 {
			return cands[i]
		}
	}
	if i := slices.IndexFunc(cands, func(p *store.Publisher) bool { return p.Environment == "" }); i >= 0 {
		return cands[i]
	}
	return nil
}

// githubWorkflowFile finds the workflow file name in a job_workflow_ref
// (OWNER/REPO/.github/workflows/FILE.yml@REF): the leftmost run of
// characters other than '/' ending in .yml or .yaml right before an '@'
// (a file name may hold an '@', a ref may look like a file name).
var githubWorkflowFile = regexp.MustCompile(`[^/]+\.(?:yml|yaml)@`)

func workflowFilename(ref string) string {
	m := githubWorkflowFile.FindString(ref)
	return strings.TrimSuffix(m, "@")
}

// gitlabConfigFile finds the CI configuration's path in a
// ci_config_ref_uri (HOST/NAMESPACE/PROJECT//PATH/FILE.yml@REF).
var gitlabConfigFile = regexp.MustCompile(`//(.+[^/]\.(?:yml|yaml))@`)

func ciConfigFile(uri string) string {
	if m := gitlabConfigFile.FindStringSubmatch(uri); m != nil {
		return m[1]
	}
	return ""
}

// failed is Warehouse's refusal of a claim a publisher constrains.
func failed(name string, optional bool) error {
	if optional {
		return noPublisher(fmt.Sprintf("Check failed for optional claim '%s'", name))
	}
	return noPublisher(fmt.Sprintf("Check failed for required claim '%s'", name))
}

// checkSub checks a sub claim of the form PREFIX:VALUE[:MORE] against
// "PREFIX:VALUE", ignoring case (GitHub's repo:OWNER/REPO, GitLab's
// project_path:NAMESPACE/PROJECT).
func checkSub(want, got string) bool {
	parts := strings.Split(got, ":")
	if len(parts) < 2 || parts[0] == "" || parts[1] == "" {
		return false
	}
	return strings.EqualFold(parts[0]+":"+parts[1], want)
}

// expectedRefs is the claim a workflow reference must equal: base@ref or
// base@sha, each when not empty, sorted (Warehouse's message shows them
// so).
func expectedRefs(base string, refs ...string) []string {
	var out []string
	for _, r := range refs {
		if r != "" {
			out = append(out, base+"@"+r)
		}
	}
	slices.Sort(out)
	return out
}

func verifyGitHub(p *store.Publisher, c map[string]any) error {
	repository := p.RepositoryOwner + "/" + p.RepositoryName
	if sub, _ := claim(c, "sub"); !checkSub("repo:"+repository, sub) {
		return failed("sub", false)
	}
	if repo, _ := claim(c, "repository"); repo == "" || !strings.EqualFold(repo, repository) {
		return failed("repository", false)
	}
	// Warehouse compares the owner exactly, as GitHub's API spelled it
	// when the publisher was added; here the Owner typed it, and GitHub's
	// names are case-insensitive. The owner's id is the real guard.
	if owner, _ := claim(c, "repository_owner"); !strings.EqualFold(owner, p.RepositoryOwner) {
		return failed("repository_owner", false)
	}
	if id, _ := claim(c, "repository_owner_id"); id != p.RepositoryOwnerID {
		return failed("repository_owner_id", false)
	}
	got, _ := claim(c, "job_workflow_ref")
	if got == "" {
		return noPublisher("The job_workflow_ref claim is empty")
	}
	ref, _ := claim(c, "ref")
	sha, _ := claim(c, "sha")
	if ref == "" && sha == "" {
		return noPublisher("The ref and sha claims are empty")
	}
	want := expectedRefs(repository+"/.github/workflows/"+p.WorkflowFilename, ref, sha)
	if !slices.ContainsFunc(want, func(w string) bool { return refEqual(w, got, len(repository)) }) {
		return noPublisher(fmt.Sprintf("The job_workflow_ref claim does not match, expecting one of %s, got %s", pep.PyList(want), pep.PyRepr(got)))
	}
	// pull_request_target runs with the base repository's privileges on
	// a pull request's event: its ID tokens never publish.
	if ev, _ := claim(c, "event_name"); ev == "pull_request_target" {
		return noPublisher("Publishing from a workflow triggered by pull_request_target is not allowed")
	}
	if p.Environment != "" {
		if env, _ := claim(c, "environment"); env == "" || !strings.EqualFold(env, p.Environment) {
			return failed("environment", true)
		}
	}
	return nil
}

// refEqual compares a workflow reference with the expected one: the
// first n bytes (the repository's path, case-insensitive on GitHub and
// GitLab) ignoring case, the rest (the file's path and the ref) exactly.
func refEqual(want, got string, n int) bool {
	return len(want) == len(got) && strings.EqualFold(want[:n], got[:n]) && want[n:] == got[n:]
}

func verifyGitLab(p *store.Publisher, c map[string]any) error {
	path := p.Namespace + "/" + p.GitLabProject
	if sub, _ := claim(c, "sub"); !checkSub("project_path:"+path, sub) {
		return failed("sub", false)
	}
	if got, _ := claim(c, "project_path"); got == "" || !strings.EqualFold(got, path) {
		return failed("project_path", false)
	}
	got, _ := claim(c, "ci_config_ref_uri")
	if got == "" {
		return noPublisher("The ci_config_ref_uri claim is empty")
	}
	refPath, _ := claim(c, "ref_path")
	sha, _ := claim(c, "sha")
	if refPath == "" || sha == "" {
		return noPublisher("The ref_path and sha claims are empty")
	}
	base := p.Instance + "/" + path
	want := expectedRefs(base+"//"+p.CIConfigPath, refPath, sha)
	if !slices.ContainsFunc(want, func(w string) bool { return refEqual(w, got, len(base)) }) {
		return noPublisher(fmt.Sprintf("The ci_config_ref_uri claim does not match, expecting one of %s, got %s", pep.PyList(want), pep.PyRepr(got)))
	}
	if p.Environment != "" {
		// GitLab's environments are case-sensitive.
		if env, _ := claim(c, "environment"); env != p.Environment {
			return failed("environment", true)
		}
	}
	return nil
}

func verifyGoogle(p *store.Publisher, c map[string]any) error {
	if email, _ := claim(c, "email"); email != p.Email {
		return failed("email", false)
	}
	if v, ok := c["email_verified"].(bool); !ok || !v {
		return failed("email_verified", false)
	}
	if p.Subject != "" {
		if sub, _ := claim(c, "sub"); sub != p.Subject {
			return failed("sub", true)
		}
	}
	return nil
}

// claimRules reads a generic publisher's rules.
func claimRules(p *store.Publisher) (map[string]string, error) {
	var rules map[string]string
	if err := json.Unmarshal([]byte(p.ClaimRules), &rules); err != nil || len(rules) == 0 {
		return nil, fmt.Errorf("publish: claim rules of publisher %d: %v", p.ID, err)
	}
	return rules, nil
}

// checkRules checks every rule, in the order of the claims' names.
func checkRules(rules map[string]string, c map[string]any) error {
	for _, name := range slices.Sorted(maps.Keys(rules)) {
		if got, ok := claim(c, name); !ok || got != rules[name] {
			return failed(name, false)
		}
	}
	return nil
}

// missing is the first required claim the token lacks ("" if none).
func (k kind) missing(c map[string]any) string {
	for _, name := range k.required {
		if _, ok := claim(c, name); !ok {
			return name
		}
	}
	return ""
}
