package e2e

import (
	"strings"
	"testing"
)

// TestBrowserSessions: in real Chromium, the sessions page lists the two
// browsers signed in to an account, and one signs the other out, then
// itself.
func TestBrowserSessions(t *testing.T) {
	s := startServer(t, serverOptions{})
	password := s.createUserPassword(t, "alice", false)
	laptop := newTab(t, "sessions-laptop", s.URL, 1280, 900)
	phone := newTab(t, "sessions-phone", s.URL, 412, 915)
	laptop.loginPassword("alice", password)
	phone.loginPassword("alice", password)

	laptop.open("/manage/account/sessions/")
	laptop.mustSee("Your sessions", "this browser", "Chrome", "on Linux", "127.0.0.1", "password", "Sign out everywhere else")
	rows := `String(document.querySelectorAll("main tr[data-session]").length)`
	if n := laptop.evalString(rows); n != "2" {
		t.Fatalf("the sessions page lists %s sessions, want 2", n)
	}
	laptop.screenshot("sessions")
	laptop.clickJS(`[...document.querySelectorAll("main tr[data-session]")].find(r => !r.innerText.includes("this browser")).querySelector("form button")`)
	laptop.mustSee("That session is signed out", "this browser")
	if n := laptop.evalString(rows); n != "1" {
		t.Fatalf("after the sign-out the page lists %s sessions, want 1", n)
	}
	phone.open("/manage/account/")
	if loc := phone.location(); !strings.Contains(loc, "/account/login/") {
		t.Fatalf("the signed-out phone is at %s", loc)
	}

	// Signing out this browser's own session signs out.
	laptop.clickJS(`document.querySelector("main tr[data-session] form button")`)
	laptop.open("/manage/account/")
	if loc := laptop.location(); !strings.Contains(loc, "/account/login/") {
		t.Fatalf("the laptop is still signed in, at %s", loc)
	}
}
