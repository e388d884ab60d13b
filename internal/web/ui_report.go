package web

// The report form of a project (/project/{project}/report/): a signed-in
// user reports the project to the administrators (malware, spam,
// typosquat, dependency confusion, other), once until they decide. The
// project's page links it; anonymous visitors are sent to sign in first.

import (
	"errors"
	"net/http"
	"net/url"

	"cheeseshop/internal/pep"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/report"
	"cheeseshop/internal/store"
)

// reportPages serve the report form. The service (s.opts.Reports) is
// read at each request: tests replace it after New.
type reportPages struct{ s *Server }

// reportKind is a choice of the form.
type reportKind struct{ Value, Label string }

// reportForm is what project_report.html shows.
type reportForm struct {
	Project *store.Project
	Kinds   []reportKind
	MaxText int
}

// reportPath is the address of a project's report form.
func reportPath(normalized string) string {
	return "/project/" + url.PathEscape(normalized) + "/report/"
}

// loginToReport sends an anonymous visitor to the login page, back to the
// form afterwards.
func loginToReport(w http.ResponseWriter, r *http.Request, normalized string) {
	redirect(w, r, "/account/login/?next="+url.QueryEscape(reportPath(normalized)))
}

func (p *reportPages) form(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("project")
	normalized := pep.NormalizeName(name)
	if p.s.current(r) == nil {
		loginToReport(w, r, normalized)
		return
	}
	proj, err := p.s.idx.ProjectByName(r.Context(), normalized)
	if err == nil && !p.s.idx.CanRead(p.s.reader(r), proj) {
		err = store.ErrNotFound // the same answer as a project that does not exist
	}
	if errors.Is(err, store.ErrNotFound) {
		p.s.renderError(w, r, http.StatusNotFound, "There is no project named “"+name+"”.")
		return
	}
	if err != nil {
		p.s.fail(w, r, err)
		return
	}
	d := reportForm{Project: proj, MaxText: report.MaxText}
	for _, k := range report.Kinds {
		d.Kinds = append(d.Kinds, reportKind{Value: k, Label: report.KindLabel(k)})
	}
	p.s.render(w, r, http.StatusOK, "project_report", "Report "+proj.Name, d)
}

func (p *reportPages) submit(w http.ResponseWriter, r *http.Request) {
	name := r.PathValue("project")
	normalized := pep.NormalizeName(name)
	c := p.s.current(r)
	if c == nil {
		loginToReport(w, r, normalized)
		return
	}
	// A project that does not exist and one the reader may not read get
	// the same answer, before the form is checked or a report counted.
	proj, err := p.s.idx.ProjectByName(r.Context(), normalized)
	if err == nil && !p.s.idx.CanRead(p.s.reader(r), proj) {
		err = store.ErrNotFound
	}
	if errors.Is(err, store.ErrNotFound) {
		p.s.renderError(w, r, http.StatusNotFound, "There is no project named “"+name+"”.")
		return
	}
	if err != nil {
		p.s.fail(w, r, err)
		return
	}
	out, err := p.s.opts.Reports.Report(r.Context(), c.User, meta(r), name, r.PostFormValue("kind"), r.PostFormValue("text"))
	if err != nil {
		if e, ok := problem.As(err); ok && (e.Kind == problem.Invalid || e.Kind == problem.Conflict) {
			p.s.addFlash(w, r, "error", e.Message)
			redirect(w, r, reportPath(normalized))
			return
		}
		p.s.fail(w, r, err)
		return
	}
	msg := "Thank you: the administrators of this index have your report of " + out.Report.Project + ", and will look at it."
	if out.Quarantined {
		msg += " Enough users reported it: it is now quarantined until the administrators review it."
	}
	p.s.addFlash(w, r, "ok", msg)
	redirect(w, r, "/project/"+url.PathEscape(out.Report.NormalizedName)+"/")
}
