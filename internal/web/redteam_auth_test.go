package web

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestStaleInvitationAfterInviterLostOwner reproduces a takeover by a
// former Owner: a rogue Owner invites a puppet as Owner, is then removed
// (or demoted, or its account disabled), and the puppet accepts the
// invitation afterwards. An invitation carries the authority of its
// inviter: once the inviter is no longer an Owner of the project, it must
// not give any role.
func TestStaleInvitationAfterInviterLostOwner(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		name string
		// lose takes the Owner role, or the account, from the rogue.
		lose func(t *testing.T, tm *team)
	}{
		{"removed", func(t *testing.T, tm *team) {
			resp, _ := tm.browsers["owner"].post("/manage/project/club/collaboration/remove", url.Values{"username": {"maintainer"}})
			if resp.StatusCode != http.StatusSeeOther || tm.role(t, "club", "maintainer") != "" {
				t.Fatalf("remove the rogue: %d, role %q", resp.StatusCode, tm.role(t, "club", "maintainer"))
			}
		}},
		{"demoted", func(t *testing.T, tm *team) {
			resp, _ := tm.browsers["owner"].post("/manage/project/club/collaboration/role", url.Values{"username": {"maintainer"}, "role": {"Maintainer"}})
			if resp.StatusCode != http.StatusSeeOther || tm.role(t, "club", "maintainer") != store.RoleMaintainer {
				t.Fatalf("demote the rogue: %d, role %q", resp.StatusCode, tm.role(t, "club", "maintainer"))
			}
		}},
		{"disabled", func(t *testing.T, tm *team) {
			storetest.Must(t, tm.s.st.SetUserDisabled(context.Background(), tm.users["maintainer"].ID, true))
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			eachTeam(t, func(t *testing.T, tm *team) {
				tm.project(t, "club")
				// The rogue ("maintainer") is made an Owner, invites its
				// puppet ("invitee") as Owner, then loses its role.
				if resp, _ := tm.browsers["owner"].post("/manage/project/club/collaboration/role", url.Values{"username": {"maintainer"}, "role": {"Owner"}}); resp.StatusCode != http.StatusSeeOther {
					t.Fatalf("promote: %d", resp.StatusCode)
				}
				rogue := tm.browsers["maintainer"]
				rogue.get("/manage/project/club/collaboration/")
				if resp, _ := rogue.post("/manage/project/club/collaboration/invite", url.Values{"username": {"invitee"}, "role": {"Owner"}}); resp.StatusCode != http.StatusSeeOther || !tm.invited(t, "club", "invitee") {
					t.Fatalf("the rogue's invitation: %d", resp.StatusCode)
				}
				c.lose(t, tm)

				puppet := tm.browsers["invitee"]
				puppet.get("/manage/projects/")
				resp, _ := puppet.post("/manage/project/club/invitation/accept", nil)
				if role := tm.role(t, "club", "invitee"); role != "" {
					t.Fatalf("the puppet accepted the invitation of a former Owner and is now %s (status %d)", role, resp.StatusCode)
				}
				if resp.StatusCode == http.StatusSeeOther {
					if _, body := puppet.get(resp.Header.Get("Location")); !strings.Contains(body, "invite you again") {
						t.Errorf("the refusal does not say what to do:\n%s", body)
					}
				}
				// A current Owner's invitation still works.
				tm.invite(t, "club", "invitee")
				puppet.get("/manage/projects/")
				if resp, _ := puppet.post("/manage/project/club/invitation/accept", nil); resp.StatusCode != http.StatusSeeOther || tm.role(t, "club", "invitee") == "" {
					t.Fatalf("a current Owner's invitation was refused: %d", resp.StatusCode)
				}
			})
		})
	}
}
