package upstream_test

import (
	"net/url"
	"slices"
	"strings"
	"testing"

	"cheeseshop/internal/upstream"
)

func TestParseUpstream(t *testing.T) {
	for _, tc := range []struct {
		raw, want string
		files     []string
		extra     []string
	}{
		{raw: "https://pypi.org/simple/", want: "https://pypi.org/simple/", files: []string{"files.pythonhosted.org"}},
		{raw: "https://PyPI.org/simple", want: "https://pypi.org/simple/", files: []string{"files.pythonhosted.org"}},
		{raw: "https://test.pypi.org/simple/", want: "https://test.pypi.org/simple/", files: []string{"test-files.pythonhosted.org"}},
		{raw: "https://pypi.org:8443/simple/", want: "https://pypi.org:8443/simple/", files: []string{}},
		{raw: "https://__token__:s3cret@corp.example/root/pypi/+simple/", want: "https://corp.example/root/pypi/+simple/",
			extra: []string{"cdn.corp.example", "[::1]:9000"}, files: []string{"cdn.corp.example", "[::1]:9000"}},
		{raw: "http://127.0.0.1:8080/simple/", want: "http://127.0.0.1:8080/simple/", files: []string{}},
	} {
		up, err := upstream.ParseUpstream(tc.raw, tc.extra...)
		if err != nil {
			t.Fatalf("%s: %v", tc.raw, err)
		}
		if up.String() != tc.want || !slices.Equal(up.FileHosts(), tc.files) {
			t.Errorf("%s: %s %q, want %s %q", tc.raw, up, up.FileHosts(), tc.want, tc.files)
		}
		if strings.Contains(up.String(), "s3cret") || strings.Contains(up.Root().String(), "s3cret") {
			t.Errorf("%s: credentials shown", tc.raw)
		}
	}
	for _, raw := range []string{"ftp://pypi.org/simple/", "pypi.org/simple/", "https:///simple/", "https://pypi.org/simple/?x=1",
		"https://pypi.org/simple/#top", "mailto:a@b", "https://u:s3cret@pypi.org:bad/simple/", "https://u:s3cret@%zz/"} {
		_, err := upstream.ParseUpstream(raw)
		if err == nil {
			t.Errorf("%s accepted", raw)
		} else if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: credentials in %v", raw, err)
		}
	}
	for _, host := range []string{"", "https://x", "a/b", "u@x", "x:y:z"} {
		if _, err := upstream.ParseUpstream("https://pypi.org/simple/", host); err == nil {
			t.Errorf("file host %q accepted", host)
		}
	}
}

func TestAllowed(t *testing.T) {
	pypi, _ := upstream.ParseUpstream("https://pypi.org/simple/", "mirror.example:8443")
	local, _ := upstream.ParseUpstream("http://127.0.0.1:8080/simple/", "127.0.0.2")
	for _, tc := range []struct {
		up   *upstream.Upstream
		url  string
		want bool
	}{
		{pypi, "https://pypi.org/packages/x.whl", true},
		{pypi, "https://PYPI.ORG:443/packages/x.whl", true},
		{pypi, "https://files.pythonhosted.org/packages/x.whl", true},
		{pypi, "https://mirror.example:8443/x.whl", true},
		{pypi, "https://mirror.example/x.whl", false},
		{pypi, "http://pypi.org/packages/x.whl", false},
		{pypi, "http://files.pythonhosted.org/packages/x.whl", false},
		{pypi, "https://pypi.org:444/packages/x.whl", false},
		{pypi, "https://evil.pypi.org/x.whl", false},
		{pypi, "https://user@pypi.org/x.whl", false},
		{pypi, "ftp://pypi.org/x.whl", false},
		{pypi, "javascript:alert(1)", false},
		{pypi, "file:///etc/passwd", false},
		{pypi, "/relative", false},
		{local, "http://127.0.0.1:8080/packages/x.whl", true},
		{local, "https://127.0.0.1:8080/packages/x.whl", true},
		{local, "http://127.0.0.1/packages/x.whl", false},
		{local, "http://127.0.0.1:8081/packages/x.whl", false},
		{local, "http://127.0.0.2/x.whl", true},
		{local, "https://127.0.0.2/x.whl", true},
		{local, "http://127.0.0.2:8080/x.whl", false},
		{local, "http://localhost:8080/x.whl", false},
	} {
		u, err := url.Parse(tc.url)
		if err != nil {
			t.Fatal(err)
		}
		if got := tc.up.Allowed(u); got != tc.want {
			t.Errorf("%s allows %s: %v, want %v", tc.up, tc.url, got, tc.want)
		}
	}
	if u := pypi.ProjectURL("holy-grail"); u.String() != "https://pypi.org/simple/holy-grail/" {
		t.Errorf("ProjectURL = %s", u)
	}
}
