package e2e

import "testing"

func TestBrowserLoginRefused(t *testing.T) {
	s := startServer(t, serverOptions{})
	b := newTab(t, "visitor", s.URL, 1280, 900)
	b.open("/account/login/")
	b.fill(`input[name=username]`, "nobody", `input[name=password]`, "wrong password")
	b.submit(`main button[type=submit]`)
	b.mustSee("username or password is wrong")
	b.screenshot("login")
}
