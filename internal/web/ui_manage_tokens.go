package web

// The API tokens pages of the web UI (/manage/account/tokens/): list,
// create and revoke the signed-in user's tokens.

import (
	"errors"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"cheeseshop/internal/auth"
	"cheeseshop/internal/index"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
)

// revokeToken revokes one of the user's API tokens.
func (m *managePages) revokeToken(r *http.Request, p *index.Principal) (outcome, error) {
	o := outcome{msg: "API token revoked.", to: "/manage/account/tokens/", back: "/manage/account/tokens/"}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		return o, &problem.Error{Kind: problem.NotFound, Message: "No such API token."}
	}
	return o, m.idx.RevokeToken(r.Context(), p, p.Meta, id)
}

// tokensPage is what the API tokens page receives.
type tokensPage struct {
	Tokens   []*store.Token
	Projects []store.UserProject
	New      *index.NewToken // just created: its secret is shown this once
	// IndexURL is the simple API's URL with a new read-only token in it.
	IndexURL string
	Error    string
	Form     url.Values
	Now      time.Time
}

func (m *managePages) renderTokens(w http.ResponseWriter, r *http.Request, p *index.Principal, status int, pg *tokensPage) {
	var err error
	if pg.Tokens, err = m.idx.ListTokens(r.Context(), p); err != nil {
		m.s.fail(w, r, err)
		return
	}
	if pg.Projects, _, err = m.idx.MyProjects(r.Context(), p); err != nil {
		m.s.fail(w, r, err)
		return
	}
	if pg.Form == nil {
		pg.Form = url.Values{"scope": {"all"}}
	}
	pg.Now = time.Now()
	m.s.render(w, r, status, "manage_tokens", "API tokens", pg)
}

// manageTokens lists the user's API tokens with the form to create one.
func (m *managePages) manageTokens(w http.ResponseWriter, r *http.Request) {
	if p := m.s.principal(w, r); p != nil {
		m.renderTokens(w, r, p, http.StatusOK, &tokensPage{})
	}
}

// createToken creates a token and shows its secret once, on this very
// response (never in a redirect target or a flash cookie).
func (m *managePages) createToken(w http.ResponseWriter, r *http.Request) {
	p := m.s.principal(w, r)
	if p == nil {
		return
	}
	_ = r.ParseForm()
	req, err := tokenRequest(r.PostForm.Get("name"), r.PostForm.Get("scope") == "projects", r.PostForm["project"], r.PostForm.Get("expires_days"))
	req.Manage = r.PostForm.Get("manage") == "on"
	req.ReadOnly = r.PostForm.Get("read_only") == "on"
	var nt *index.NewToken
	if err == nil {
		nt, err = m.idx.CreateToken(r.Context(), p, p.Meta, req)
	}
	if errors.Is(err, auth.ErrReauthRequired) {
		m.s.sendToReauth(w, r, "/manage/account/tokens/")
		return
	}
	if err != nil {
		if k := problem.KindOf(err); k == problem.Invalid || k == problem.Forbidden {
			m.renderTokens(w, r, p, statusOf(err), &tokensPage{Error: err.Error(), Form: r.PostForm})
			return
		}
		m.s.fail(w, r, err)
		return
	}
	pg := &tokensPage{New: nt}
	if nt.Token.ReadOnly {
		if u, err := url.Parse(m.idx.Config().BaseURL + "/simple/"); err == nil {
			u.User = url.UserPassword("__token__", nt.Secret)
			pg.IndexURL = u.String()
		}
	}
	m.renderTokens(w, r, p, http.StatusOK, pg)
}

// tokenRequest builds a token request from a form or a JSON body.
func tokenRequest(name string, scoped bool, projects []string, days string) (index.TokenRequest, error) {
	req := index.TokenRequest{Name: name}
	if scoped {
		for _, p := range projects {
			if p = strings.TrimSpace(p); p != "" {
				req.Projects = append(req.Projects, p)
			}
		}
		if len(req.Projects) == 0 {
			return req, &problem.Error{Kind: problem.Invalid, Message: "Select at least one project, or choose all projects."}
		}
	}
	if days = strings.TrimSpace(days); days != "" {
		n, err := strconv.Atoi(days)
		if err != nil || n < 1 || n > maxTokenDays {
			return req, &problem.Error{Kind: problem.Invalid, Message: "The expiry must be a number of days between 1 and " + strconv.Itoa(maxTokenDays) + ", or empty for none."}
		}
		t := time.Now().Add(time.Duration(n) * 24 * time.Hour)
		req.Expires = &t
	}
	return req, nil
}
