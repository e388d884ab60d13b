package index

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/mail/mailtest"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// The examples of PEP 792 ("Status markers in the index APIs"): the HTML
// and JSON index responses for sampleproject once quarantined.
const (
	pep792HTML = `<!DOCTYPE html>
<html>
  <head>
    <meta name="pypi:repository-version" content="1.4">
    <meta name="pypi:project-status" content="quarantined">
    <meta name="pypi:project-status-reason" content="the project is haunted">
    <title>Links for sampleproject</title>
  </head>
  <body>
    <h1>Links for sampleproject</h1>
  </body>
</html>
`
	pep792JSON = `{
  "meta": {
    "api-version": "1.4"
  },
  "project-status": {
    "status": "quarantined",
    "reason": "the project is haunted"
  },
  "alternate-locations": [],
  "files": [],
  "name": "sampleproject",
  "versions": [
    "1.2.0",
    "1.3.0",
    "1.3.1",
    "2.0.0",
    "3.0.0",
    "4.0.0"
  ]
}`
)

// TestPEP792Examples quarantines sampleproject with the PEP's reason and
// compares the simple pages with the PEP's examples: the HTML byte for
// byte (then the serial comment PyPI adds), the JSON key for key (less
// the private _last-serial, and PEP 708's optional alternate-locations,
// which this index does not serve).
func TestPEP792Examples(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		f := newFixture(t, d, Config{})
		alice := f.user("alice")
		for _, v := range []string{"1.2.0", "1.3.0", "1.3.1", "2.0.0", "3.0.0", "4.0.0"} {
			f.mustWheel(alice, disttest.Dist{Name: "sampleproject", Version: v})
		}
		storetest.Must(t, f.svc.Quarantine(ctx, nil, audit.Meta{}, "sampleproject", "the project is haunted"))
		page, err := f.svc.Cache().Project(ctx, "sampleproject")
		storetest.Must(t, err)

		want := pep792HTML + "<!--SERIAL " + strconv.FormatInt(page.View.Project.LastSerial, 10) + "-->\n"
		if got := string(page.HTML.Body); got != want {
			t.Errorf("HTML:\n%s\nwant PEP 792's:\n%s", got, want)
		}

		var got, pep map[string]any
		storetest.Must(t, json.Unmarshal(page.JSON.Body, &got))
		storetest.Must(t, json.Unmarshal([]byte(pep792JSON), &pep))
		delete(got["meta"].(map[string]any), "_last-serial")
		delete(pep, "alternate-locations")
		if !reflect.DeepEqual(got, pep) {
			t.Errorf("JSON:\n%s\nwant PEP 792's:\n%s", page.JSON.Body, pep792JSON)
		}
	})
}

// TestProjectStatus walks a project through every status: what each
// publishes, refuses and keeps, the events and the Owners' emails, and a
// second replica following the journal.
func TestProjectStatus(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		ctx := context.Background()
		box := &mailtest.Box{}
		f := newFixture(t, d, Config{Mailer: box})
		replica := New(f.st, f.svc.blobs, f.svc.cfg, f.svc.log)
		storetest.Must(t, replica.Cache().startFollowing(ctx))
		alice, bob := f.user("alice"), f.user("bob")
		m := audit.Meta{IP: "192.0.2.7"}
		dist := disttest.Dist{Name: "widget", Version: "1.0"}
		f.mustWheel(alice, dist)
		verify(t, f, bob)
		_, err := f.svc.InviteCollaborator(ctx, alice, m, "widget", "bob", store.RoleMaintainer)
		storetest.Must(t, err)
		storetest.Must(t, f.svc.AcceptInvitation(ctx, bob, m, "widget"))

		// simple is what the simple JSON page of widget says on a replica
		// (after it caught up with the journal): the status, its reason,
		// the files, and whether a file URL finds its file.
		type simple struct {
			Status, Reason string
			Files          int
			FileFound      bool
		}
		look := func(svc *Service) simple {
			t.Helper()
			if svc == replica {
				storetest.Must(t, replica.Cache().catchUp(ctx))
			}
			page, err := svc.Cache().Project(ctx, "widget")
			storetest.Must(t, err)
			var doc struct {
				Status jsonStatus `json:"project-status"`
				Files  []any      `json:"files"`
			}
			storetest.Must(t, json.Unmarshal(page.JSON.Body, &doc))
			_, ferr := svc.File(ctx, dist.WheelFilename())
			if ferr != nil && !errors.Is(ferr, store.ErrNotFound) {
				t.Fatal(ferr)
			}
			return simple{doc.Status.Status, doc.Status.Reason, len(doc.Files), ferr == nil}
		}
		expect := func(want simple) {
			t.Helper()
			for name, svc := range map[string]*Service{"this replica": f.svc, "another replica": replica} {
				if got := look(svc); got != want {
					t.Errorf("%s: %+v, want %+v", name, got, want)
				}
			}
		}
		// lastTag is the tag of the project's newest event.
		lastTag := func() string {
			t.Helper()
			proj, err := f.st.ProjectByName(ctx, "widget")
			storetest.Must(t, err)
			evs, err := f.st.ProjectEvents(ctx, proj.ID, 1)
			storetest.Must(t, err)
			return evs[0].Tag
		}
		// mailed checks that the one Owner, alice, got the last email,
		// whose subject says subject.
		mailed := func(subject string) {
			t.Helper()
			all := box.All()
			last := all[len(all)-1]
			if last.To != "alice@example.org" || !strings.Contains(last.Subject, subject) {
				t.Errorf("last email: to %s %q, want to alice about %q", last.To, last.Subject, subject)
			}
			for _, msg := range all {
				if msg.To == "bob@example.org" && strings.Contains(msg.Subject, "widget is") {
					t.Errorf("a Maintainer got the Owners' email %q", msg.Subject)
				}
			}
		}
		expect(simple{"active", "", 1, true})

		t.Run("only Owners set the status, never to quarantined", func(t *testing.T) {
			if err := f.svc.SetStatus(ctx, bob, m, "widget", store.StatusArchived, ""); problem.KindOf(err) != problem.Forbidden {
				t.Errorf("a Maintainer archived: %v", err)
			}
			if err := f.svc.SetStatus(ctx, alice, m, "widget", store.StatusQuarantined, "x"); problem.KindOf(err) != problem.Forbidden {
				t.Errorf("an Owner quarantined: %v", err)
			}
			if err := f.svc.SetStatus(ctx, alice, m, "widget", "abandoned", ""); problem.KindOf(err) != problem.Invalid {
				t.Errorf("unknown status: %v", err)
			}
			if err := f.svc.SetStatus(ctx, alice, m, "widget", store.StatusDeprecated, "two\nlines"); problem.KindOf(err) != problem.Invalid {
				t.Errorf("a reason of two lines: %v", err)
			}
			if err := f.svc.Quarantine(ctx, alice.User, m, "widget", "mine"); problem.KindOf(err) != problem.Forbidden {
				t.Errorf("an Owner who is no administrator quarantined: %v", err)
			}
			if err := f.svc.Quarantine(ctx, nil, m, "widget", " "); problem.KindOf(err) != problem.Invalid {
				t.Errorf("a quarantine without a reason: %v", err)
			}
		})

		t.Run("archived: uploads refused, files served", func(t *testing.T) {
			storetest.Must(t, f.svc.SetStatus(ctx, alice, m, "widget", store.StatusArchived, "no longer maintained"))
			expect(simple{"archived", "no longer maintained", 1, true})
			if tag := lastTag(); tag != audit.ProjectArchived {
				t.Errorf("event %s", tag)
			}
			mailed("widget is now archived")
			_, err := f.uploadWheel(bob, disttest.Dist{Name: "widget", Version: "2.0"})
			want := "The user 'bob' isn't allowed to upload to project 'widget': the project is archived. See http://index.test/help/#project-archived for more information."
			if problem.KindOf(err) != problem.Forbidden || err.Error() != want {
				t.Errorf("upload to an archived project: %v", err)
			}
			if err := f.svc.CheckProjectUpload(ctx, bob, "widget"); problem.KindOf(err) != problem.Forbidden {
				t.Errorf("the early check let the upload in: %v", err)
			}
			// Other changes are allowed: an archived project can be yanked.
			storetest.Must(t, f.svc.Yank(ctx, alice, m, "widget", "1.0", "old"))
			storetest.Must(t, f.svc.Unyank(ctx, alice, m, "widget", "1.0"))
		})

		t.Run("quarantined: nothing served, nothing changes", func(t *testing.T) {
			storetest.Must(t, f.svc.Quarantine(ctx, nil, m, "widget", "malware in setup.py"))
			expect(simple{"quarantined", "malware in setup.py", 0, false})
			if tag := lastTag(); tag != audit.ProjectQuarantined {
				t.Errorf("event %s", tag)
			}
			mailed("widget is quarantined")
			if err := f.svc.Quarantine(ctx, nil, m, "widget", "again"); problem.KindOf(err) != problem.Conflict {
				t.Errorf("quarantined twice: %v", err)
			}
			_, err := f.uploadWheel(alice, disttest.Dist{Name: "widget", Version: "2.0"})
			if problem.KindOf(err) != problem.Forbidden || !strings.Contains(err.Error(), "quarantined") || !strings.Contains(err.Error(), "malware in setup.py") {
				t.Errorf("upload to a quarantined project: %v", err)
			}
			for name, change := range map[string]func() error{
				"unarchive": func() error { return f.svc.SetStatus(ctx, alice, m, "widget", store.StatusActive, "") },
				"yank":      func() error { return f.svc.Yank(ctx, alice, m, "widget", "1.0", "") },
				"delete file": func() error {
					return f.svc.DeleteProjectFile(ctx, alice, m, "widget", dist.WheelFilename())
				},
				"delete release": func() error { return f.svc.DeleteRelease(ctx, alice, m, "widget", "1.0") },
				"delete project": func() error { return f.svc.DeleteProject(ctx, alice, m, "widget", "widget") },
				"remove a collaborator": func() error {
					return f.svc.RemoveCollaborator(ctx, alice, m, "widget", "bob")
				},
				"leave":       func() error { return f.svc.LeaveProject(ctx, bob, m, "widget") },
				"require 2FA": func() error { return f.svc.SetRequire2FA(ctx, alice, m, "widget", true) },
				"invite": func() error {
					_, err := f.svc.InviteCollaborator(ctx, alice, m, "widget", "carol", store.RoleOwner)
					return err
				},
			} {
				if err := change(); problem.KindOf(err) != problem.Forbidden || !strings.Contains(err.Error(), "is quarantined") {
					t.Errorf("%s: %v", name, err)
				}
			}
			// The evidence is all there.
			v, err := f.svc.LoadProject(ctx, "widget")
			storetest.Must(t, err)
			if len(v.Releases) != 1 || v.Releases[0].Withheld != 1 || len(v.Collaborators) != 2 {
				t.Errorf("after the refusals: %d releases, %d collaborators", len(v.Releases), len(v.Collaborators))
			}
			doc, err := f.svc.JSONDocument(ctx, v, "")
			storetest.Must(t, err)
			if len(doc.URLs) != 0 || len(doc.Releases["1.0"]) != 0 || doc.Info.ProjectStatus.Status != store.StatusQuarantined {
				t.Errorf("JSON API of a quarantined project: %+v", doc)
			}
			qs, err := f.svc.Quarantined(ctx)
			storetest.Must(t, err)
			if len(qs) != 1 || qs[0].Name != "widget" || qs[0].PriorStatus != store.StatusArchived {
				t.Errorf("quarantined list: %+v", qs)
			}
		})

		t.Run("released: exactly as it was", func(t *testing.T) {
			storetest.Must(t, f.svc.ReleaseFromQuarantine(ctx, nil, m, "widget"))
			expect(simple{"archived", "no longer maintained", 1, true})
			if tag := lastTag(); tag != audit.ProjectReleased {
				t.Errorf("event %s", tag)
			}
			mailed("widget is released from quarantine")
			if err := f.svc.ReleaseFromQuarantine(ctx, nil, m, "widget"); problem.KindOf(err) != problem.Conflict {
				t.Errorf("released twice: %v", err)
			}
			qs, err := f.svc.Quarantined(ctx)
			storetest.Must(t, err)
			if len(qs) != 0 {
				t.Errorf("still listed: %+v", qs)
			}
		})

		t.Run("deprecated, then active: uploads accepted", func(t *testing.T) {
			storetest.Must(t, f.svc.SetStatus(ctx, alice, m, "widget", store.StatusDeprecated, "use gadget"))
			expect(simple{"deprecated", "use gadget", 1, true})
			f.mustWheel(bob, disttest.Dist{Name: "widget", Version: "1.1"})
			storetest.Must(t, f.svc.SetStatus(ctx, alice, m, "widget", store.StatusActive, "ignored"))
			expect(simple{"active", "", 2, true})
			if tag := lastTag(); tag != audit.ProjectUndeprecated {
				t.Errorf("event %s", tag)
			}
			mailed("widget is active again")
			n := len(box.All())
			storetest.Must(t, f.svc.SetStatus(ctx, alice, m, "widget", store.StatusActive, ""))
			if len(box.All()) != n {
				t.Errorf("an unchanged status was announced")
			}
		})
	})
}
