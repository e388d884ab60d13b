package e2e

import (
	"strings"
	"testing"
)

const debFlit = "/usr/bin/flit"

// TestFlitPublish: Debian's flit publishes to the index unchanged (it
// sends the file part without a Content-Type, which PyPI reads as
// text/plain), and pip installs what it published. flit 3.8 names its
// sdist cheese-flit-1.0.tar.gz, the name before PEP 625 that PyPI and
// this index refuse (flit >= 3.9 writes cheese_flit-1.0.tar.gz): plain
// `flit publish` uploads the wheel, then stops on the sdist with PyPI's
// message; `flit publish --format wheel` publishes the wheel alone.
func TestFlitPublish(t *testing.T) {
	t.Parallel()
	requireTool(t, debFlit, "flit")
	requirePython(t)
	s, token := startWithUploader(t, serverOptions{})
	src := copyProject(t, "cheese-flit")
	env := clientEnv(t, "FLIT_INDEX_URL="+s.URL+"/legacy/", "FLIT_USERNAME=__token__", "FLIT_PASSWORD="+token)

	r := runCmd(t, src, env, debFlit, "publish")
	if r.Code == 0 || !strings.Contains(r.Out, "Filename 'cheese-flit-1.0.tar.gz' is invalid, should be 'cheese_flit-1.0.tar.gz'") {
		t.Fatalf("flit publish: exit %d, want the sdist refused with PyPI's PEP 625 message\n%s", r.Code, r.Out)
	}
	if r := runCmd(t, src, env, debFlit, "publish", "--format", "wheel"); r.Code != 0 {
		t.Fatalf("flit publish --format wheel: exit %d\n%s", r.Code, r.Out)
	}
	v := newVenv(t)
	if r := v.pip(t, "install", "--index-url", s.URL+"/simple/", "cheese-flit"); r.Code != 0 {
		t.Fatalf("pip install cheese-flit: exit %d\n%s", r.Code, r.Out)
	}
	if out := v.python(t, "import cheese_flit; print(cheese_flit.__doc__)"); !strings.Contains(out, "published with flit") {
		t.Fatalf("the installed module says %q", out)
	}
}
