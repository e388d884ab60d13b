package index

import (
	"archive/zip"
	"bytes"

	"context"
	"strings"
	"testing"
	"time"

	"cheeseshop/internal/audit"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/problem"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// TestUploadRefusals has one row per way an upload must be refused, each
// with the message the uploader sees.
func TestUploadRefusals(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		testUploadRefusals(t, d)
	})
}

func testUploadRefusals(t *testing.T, dialect store.Dialect) {
	f := newFixture(t, dialect, Config{MaxFileSize: 1 << 20, MaxProjectSize: 3 << 20})
	ctx := context.Background()
	alice, bob := f.user("alice"), f.user("bob")
	base := disttest.Dist{Name: "foo-bar", Version: "1.0", Summary: "A test project"}
	f.mustWheel(alice, base)
	f.mustWheel(alice, disttest.Dist{Name: "other", Version: "1.0"})
	scopedToOther := f.token(alice.User, true, "other")
	if err := f.st.ProhibitName(ctx, "evil-pkg", "ev11pkg", "test", f.svc.now()); err != nil {
		t.Fatal(err)
	}

	// A zip bomb: 200 MiB of zeros deflates to about 200 KiB.
	bombFiles := wheelFiles(disttest.Dist{Name: "bomb", Version: "1.0"})
	bombFiles["bomb/zeros.bin"] = make([]byte, 200<<20)
	bomb := zipOf(zip.Deflate, bombFiles)
	noMeta := wheelFiles(disttest.Dist{Name: "nometa", Version: "1.0"})
	delete(noMeta, "nometa-1.0.dist-info/METADATA")
	liar := wheelFiles(disttest.Dist{Name: "liar", Version: "1.0"})
	liar["liar-1.0.dist-info/METADATA"] = []byte(disttest.Dist{Name: "somebody-else", Version: "1.0"}.Metadata())
	big := wheelFiles(disttest.Dist{Name: "big", Version: "1.0"})
	big["big/data.bin"] = bytes.Repeat([]byte("0123456789abcdef"), 1<<16+1) // 1 MiB + 16 B, stored uncompressed below

	type row struct {
		name    string
		who     *Principal
		dist    disttest.Dist
		file    string // override filename
		content []byte // override content (a wheel unless filetype says otherwise)
		edit    func(Form)
		sdist   bool
		want    string
		pypi    bool // want is PyPI's message, which must come first
		kind    problem.Kind
	}
	rows := []row{
		{name: "no credentials", who: nil, dist: disttest.Dist{Name: "anon", Version: "1.0"}, want: "Invalid or non-existent authentication information", kind: problem.Unauthenticated},
		{name: "register action", dist: base, edit: func(f Form) { f[":action"] = []string{"submit"} }, want: "pre-registration is no longer required", kind: problem.Gone},
		{name: "doc upload", dist: base, edit: func(f Form) { f[":action"] = []string{"doc_upload"} }, want: "Uploading documentation is no longer supported", kind: problem.Gone},
		{name: "protocol version", dist: base, edit: func(f Form) { f["protocol_version"] = []string{"2"} }, want: "Unknown protocol version", kind: problem.Invalid},
		{name: "metadata version", dist: base, edit: func(f Form) { f["metadata_version"] = []string{"3.0"} }, want: "'3.0' is an invalid value for Metadata-Version", kind: problem.Invalid},
		{name: "invalid name", dist: base, edit: func(f Form) { f["name"] = []string{"-foo"} }, want: "'-foo' is an invalid value for Name", kind: problem.Invalid},
		{name: "invalid version", dist: base, edit: func(f Form) { f["version"] = []string{"one.two"} }, want: "'one.two' is an invalid value for Version", kind: problem.Invalid},
		{name: "local version", dist: base, edit: func(f Form) { f["version"] = []string{"1.0+local"} }, want: "The use of local versions in '1.0+local' is not allowed", kind: problem.Invalid},
		{name: "unknown filetype", dist: base, edit: func(f Form) { f["filetype"] = []string{"bdist_egg"} }, want: "Use a known file type", kind: problem.Invalid},
		{name: "no digest", dist: base, edit: func(f Form) { delete(f, "md5_digest"); delete(f, "sha256_digest"); delete(f, "blake2_256_digest") }, want: "Include at least one message digest", kind: problem.Invalid},
		{name: "malformed digest", dist: base, edit: func(f Form) { f["sha256_digest"] = []string{"xyz"} }, want: "Invalid value for sha256_digest", kind: problem.Invalid},
		{name: "bad sha256 digest", dist: disttest.Dist{Name: "foo-bar", Version: "2.0"}, edit: func(f Form) { f["sha256_digest"] = []string{strings.Repeat("ab", 32)} }, want: "The digest supplied does not match a digest calculated from the uploaded file", kind: problem.Invalid},
		{name: "bad md5 digest", dist: disttest.Dist{Name: "foo-bar", Version: "2.0"}, edit: func(f Form) { f["md5_digest"] = []string{strings.Repeat("0", 32)} }, want: "The digest supplied does not match", kind: problem.Invalid},
		{name: "summary too long", dist: base, edit: func(f Form) { f["summary"] = []string{strings.Repeat("x", 513)} }, want: "'summary' field must be 512 characters or less", kind: problem.Invalid},
		{name: "summary on two lines", dist: base, edit: func(f Form) { f["summary"] = []string{"one\ntwo"} }, want: "'summary' field must be a single line", kind: problem.Invalid},
		{name: "version too long", dist: base, edit: func(f Form) { f["version"] = []string{strings.Repeat("1.", 64) + "1"} }, want: "'version' field must be 128 bytes or less (it has 129 bytes)", kind: problem.Invalid},
		{name: "name too long", dist: base, edit: func(f Form) { f["name"] = []string{strings.Repeat("n", 201)} }, want: "'name' field must be 200 bytes or less", kind: problem.Invalid},
		{name: "project URL label too long", dist: base, edit: func(f Form) {
			f["project_urls"] = []string{"Source, https://example.org", strings.Repeat("L", 33) + ", https://example.org"}
		}, want: "'" + strings.Repeat("L", 33) + "' must be 32 characters or less. See https://packaging.python.org/specifications/core-metadata", kind: problem.Invalid},
		{name: "too many classifiers", dist: base, edit: func(f Form) { f["classifiers"] = make([]string, 513) }, want: "'classifier' field must have 512 values or fewer (it has 513)", kind: problem.Invalid},
		{name: "path in filename", dist: disttest.Dist{Name: "foo-bar", Version: "2.0"}, file: "../foo_bar-2.0-py3-none-any.whl", want: "Cannot upload a file with '/' or '\\' in the name", kind: problem.Invalid},
		{name: "backslash in filename", dist: disttest.Dist{Name: "foo-bar", Version: "2.0"}, file: `x\foo_bar-2.0-py3-none-any.whl`, want: "Cannot upload a file with '/' or '\\' in the name", kind: problem.Invalid},
		{name: "control character in filename", dist: disttest.Dist{Name: "foo-bar", Version: "2.0"}, file: "foo_bar-2.0-py3-none-any\x07.whl", want: "non-printable characters", kind: problem.Invalid},
		{name: "unknown extension", dist: disttest.Dist{Name: "foo-bar", Version: "2.0"}, file: "foo_bar-2.0.exe", want: "Invalid file extension", kind: problem.Invalid},
		{name: "wheel extension for an sdist", dist: disttest.Dist{Name: "foo-bar", Version: "2.0"}, sdist: true, file: "foo_bar-2.0-py3-none-any.whl", want: "Extension .whl is invalid for filetype sdist", kind: problem.Invalid},
		{name: "unsupported platform tag", dist: disttest.Dist{Name: "foo-bar", Version: "2.0"}, file: "foo_bar-2.0-cp311-cp311-linux_x86_64.whl", want: "unsupported platform tag 'linux_x86_64'", kind: problem.Invalid},
		{name: "macOS fat32 arch", dist: disttest.Dist{Name: "foo-bar", Version: "2.0"}, file: "foo_bar-2.0-cp311-cp311-macosx_10_5_fat32.whl", want: "Binary wheel 'foo_bar-2.0-cp311-cp311-macosx_10_5_fat32.whl' has an unsupported platform tag 'macosx_10_5_fat32'.", pypi: true, kind: problem.Invalid},
		{name: "wheel for another project", dist: disttest.Dist{Name: "foo-bar", Version: "2.0"}, file: "other-2.0-py3-none-any.whl", want: "Start filename for 'foo-bar' with 'foo_bar'.", pypi: true, kind: problem.Invalid},
		{name: "wheel for another project, project spelled as on the index", dist: disttest.Dist{Name: "Foo.Bar", Version: "2.0"}, file: "other-2.0-py3-none-any.whl", want: "Start filename for 'foo-bar' with 'foo_bar'.", pypi: true, kind: problem.Invalid},
		{name: "wheel name not normalized (case)", dist: disttest.Dist{Name: "Jinja2", Version: "3.1.2"}, file: "Jinja2-3.1.2-py3-none-any.whl", want: "Filename 'Jinja2-3.1.2-py3-none-any.whl' should contain the normalized project name 'jinja2', not 'Jinja2'.", pypi: true, kind: problem.Invalid},
		{name: "wheel name not normalized (dot)", dist: disttest.Dist{Name: "foo-bar", Version: "2.0"}, file: "foo.bar-2.0-py3-none-any.whl", want: "Filename 'foo.bar-2.0-py3-none-any.whl' should contain the normalized project name 'foo_bar', not 'foo.bar'.", pypi: true, kind: problem.Invalid},
		{name: "wheel name not normalized (case and dot)", dist: disttest.Dist{Name: "foo-bar", Version: "2.0"}, file: "Foo.Bar-2.0-py3-none-any.whl", want: "Filename 'Foo.Bar-2.0-py3-none-any.whl' should contain the normalized project name 'foo_bar', not 'Foo.Bar'.", pypi: true, kind: problem.Invalid},
		{name: "wheel version differs from form", dist: disttest.Dist{Name: "foo-bar", Version: "2.0"}, file: "foo_bar-3.0-py3-none-any.whl", want: "Version in filename should be '2.0' not '3.0'.", pypi: true, kind: problem.Invalid},
		{name: "sdist not PEP 625", dist: disttest.Dist{Name: "foo-bar", Version: "2.0"}, sdist: true, file: "foo-bar-2.0.tar.gz", want: "Filename 'foo-bar-2.0.tar.gz' is invalid, should be 'foo_bar-2.0.tar.gz'.", pypi: true, kind: problem.Invalid},
		{name: "sdist name not normalized (case)", dist: disttest.Dist{Name: "foo-bar", Version: "2.0"}, sdist: true, file: "Foo_Bar-2.0.tar.gz", want: "Filename 'Foo_Bar-2.0.tar.gz' is invalid, should be 'foo_bar-2.0.tar.gz'.", pypi: true, kind: problem.Invalid},
		{name: "sdist version not normalized", dist: disttest.Dist{Name: "foo-bar", Version: "2.0"}, sdist: true, file: "foo_bar-2.00.tar.gz", want: "Filename 'foo_bar-2.00.tar.gz' is invalid, should be 'foo_bar-2.0.tar.gz'.", pypi: true, kind: problem.Invalid},
		{name: "sdist as .zip", dist: disttest.Dist{Name: "foo-bar", Version: "2.0"}, sdist: true, file: "foo_bar-2.0.zip", want: "Filename 'foo_bar-2.0.zip' is invalid, should be 'foo_bar-2.0.tar.gz'.", pypi: true, kind: problem.Invalid},
		{name: "sdist with a hyphenated post-release", dist: disttest.Dist{Name: "foo-bar", Version: "2.0.post1"}, sdist: true, file: "foo_bar-2.0-1.tar.gz", want: "Filename 'foo_bar-2.0-1.tar.gz' is invalid, should be 'foo_bar-2.0.post1.tar.gz'.", pypi: true, kind: problem.Invalid},
		{name: "sdist for another project", dist: disttest.Dist{Name: "foo-bar", Version: "2.0"}, sdist: true, file: "other-2.0.tar.gz", want: "Start filename for 'foo-bar' with 'foo_bar'.", pypi: true, kind: problem.Invalid},
		{name: "sdist filename without a version", dist: disttest.Dist{Name: "foo-bar", Version: "2.0"}, sdist: true, file: "foo_bar.tar.gz", want: "Invalid source distribution filename: foo_bar.tar.gz", pypi: true, kind: problem.Invalid},
		{name: "wheel without METADATA", dist: disttest.Dist{Name: "nometa", Version: "1.0"}, content: zipOf(zip.Deflate, noMeta), want: "Invalid distribution file. Wheel 'nometa-1.0-py3-none-any.whl' does not contain the required METADATA file", kind: problem.Invalid},
		{name: "zip bomb", dist: disttest.Dist{Name: "bomb", Version: "1.0"}, content: bomb, want: "Invalid distribution file. File is a zip bomb", kind: problem.Invalid},
		{name: "not a zip", dist: disttest.Dist{Name: "junk", Version: "1.0"}, content: []byte("this is not a wheel"), want: "Invalid distribution file.", kind: problem.Invalid},
		{name: "metadata names another project", dist: disttest.Dist{Name: "liar", Version: "1.0"}, content: zipOf(zip.Deflate, liar), want: "Its metadata names the project 'somebody-else'", kind: problem.Invalid},
		{name: "file too large", dist: disttest.Dist{Name: "big", Version: "1.0"}, content: zipOf(zip.Store, big), want: "File too large. Limit for project 'big' is 1 MB", kind: problem.Invalid},
		{name: "name too similar to an existing project", dist: disttest.Dist{Name: "FooBar", Version: "1.0"}, want: "The name 'FooBar' is too similar to an existing project ('foo-bar')", kind: problem.Invalid},
		{name: "look-alike with digits", dist: disttest.Dist{Name: "f00-bar", Version: "1.0"}, want: "is too similar to an existing project", kind: problem.Invalid},
		{name: "standard library module", dist: disttest.Dist{Name: "asyncio", Version: "1.0"}, want: "The name 'asyncio' isn't allowed (conflict with Python Standard Library module name)", kind: problem.Invalid},
		{name: "prohibited name", dist: disttest.Dist{Name: "Evil.Pkg", Version: "1.0"}, want: "The name 'Evil.Pkg' isn't allowed", kind: problem.Invalid},
		{name: "stranger uploads to a project", who: bob, dist: disttest.Dist{Name: "foo-bar", Version: "2.0"}, want: "The user 'bob' isn't allowed to upload to project 'foo-bar'", kind: problem.Forbidden},
		{name: "token scoped to another project", who: scopedToOther, dist: disttest.Dist{Name: "foo-bar", Version: "2.0"}, want: "The given token isn't allowed to upload to project 'foo-bar'", kind: problem.Forbidden},
		{name: "scoped token creates a project", who: scopedToOther, dist: disttest.Dist{Name: "brand-new", Version: "1.0"}, want: "cannot create new ones", kind: problem.Forbidden},
		{name: "attestations", dist: disttest.Dist{Name: "foo-bar", Version: "2.0"}, edit: func(f Form) { f["attestations"] = []string{`[{"version": 1}]`} }, want: "Invalid attestations supplied during upload: Attestations are only supported when using Trusted Publishing", pypi: true, kind: problem.Invalid},
		{name: "empty attestations", dist: disttest.Dist{Name: "foo-bar", Version: "2.0"}, edit: func(f Form) { f["attestations"] = []string{""} }, want: "Invalid attestations supplied during upload: Attestations are only supported when using Trusted Publishing", pypi: true, kind: problem.Invalid},
		{name: "attestations for a new project", dist: disttest.Dist{Name: "attested", Version: "1.0"}, edit: func(f Form) { f["attestations"] = []string{"[]"} }, want: "Invalid attestations supplied during upload: Attestations are only supported when using Trusted Publishing", pypi: true, kind: problem.Invalid},
		{name: "same content under another name", dist: disttest.Dist{Name: "foo-bar", Version: "1.0"}, file: "foo_bar-1.0-py2.py3-none-any.whl", content: base.Wheel(), want: "File already exists", kind: problem.Invalid},
	}
	for _, r := range rows {
		t.Run(r.name, func(t *testing.T) {
			who := alice
			if r.who != nil || r.name == "no credentials" {
				who = r.who
			}
			content, filetype, fn := r.dist.Wheel(), "bdist_wheel", r.dist.WheelFilename()
			if r.sdist {
				content, filetype, fn = r.dist.Sdist(), "sdist", r.dist.SdistFilename()
			}
			if r.content != nil {
				content = r.content
			}
			if r.file != "" {
				fn = r.file
			}
			form := Form(r.dist.Form(filetype, content))
			if r.edit != nil {
				r.edit(form)
			}
			res, err := f.upload(who, form, fn, content)
			if err == nil {
				t.Fatalf("upload accepted (%+v), want refusal %q", res, r.want)
			}
			if r.pypi && !strings.HasPrefix(err.Error(), r.want) {
				t.Fatalf("refusal = %q\nwant it to start with PyPI's %q", err, r.want)
			}
			if !strings.Contains(err.Error(), r.want) {
				t.Fatalf("refusal = %q\nwant it to contain %q", err, r.want)
			}
			if got := problem.KindOf(err); got != r.kind {
				t.Fatalf("kind = %d, want %d (%v)", got, r.kind, err)
			}
		})
	}

	// No refusal left anything behind: only the two projects set up exist.
	names, err := f.st.ListProjectNames(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 2 {
		t.Fatalf("projects after refusals = %+v, want only foo-bar and other", names)
	}
}

// TestUploadLifecycle covers what succeeds: idempotent retries, conflicts,
// burned names after deletion, releases that keep their first metadata.
func TestUploadLifecycle(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, dialect store.Dialect) {
		f := newFixture(t, dialect, Config{})
		ctx := context.Background()
		alice := f.user("alice")
		d := disttest.Dist{Name: "Foo_Bar.baz", Version: "1.0", Summary: "first", RequiresPython: ">=3.8"}

		res := f.mustWheel(alice, d)
		if res.Existing || res.Project != "Foo_Bar.baz" {
			t.Fatalf("first upload = %+v", res)
		}
		// The same bytes again: success, nothing changes (twine retries).
		res = f.mustWheel(alice, d)
		if !res.Existing {
			t.Fatalf("identical re-upload = %+v, want Existing", res)
		}
		// Different bytes under the same name: refused.
		changed := d
		changed.Summary = "changed"
		if _, err := f.upload(alice, changed.Form("bdist_wheel", changed.Wheel()), d.WheelFilename(), changed.Wheel()); err == nil ||
			!strings.HasPrefix(err.Error(), "File already exists") {
			t.Fatalf("different content under a used name: %v, want 'File already exists…'", err)
		}
		// The sdist joins the release; 1.0.0 is the same release as 1.0,
		// whose metadata the first file fixed.
		f.mustSdist(alice, d)
		d100 := disttest.Dist{Name: "Foo_Bar.baz", Version: "1.0.0", Summary: "other summary"}
		if _, err := f.uploadSdist(alice, d100); err == nil || !strings.Contains(err.Error(), "Only one sdist may be uploaded per release") {
			t.Fatalf("second sdist in a release: %v", err)
		}
		// Nor a second wheel for the same release and tags, under another
		// spelling of its version: an installer cannot tell them apart.
		if _, err := f.uploadWheel(alice, d100); err == nil || !strings.HasPrefix(err.Error(), "File already exists") {
			t.Fatalf("a wheel of 1.0.0 beside the wheel of 1.0: %v, want 'File already exists…'", err)
		}
		// A wheel of 1.0.0 for other tags joins release 1.0.
		if _, err := f.upload(alice, d100.Form("bdist_wheel", d100.Wheel()), "foo_bar_baz-1.0.0-py2-none-any.whl", d100.Wheel()); err != nil {
			t.Fatalf("a wheel of 1.0.0 for other tags: %v", err)
		}
		// setuptools < 75.8 writes the name unnormalized: refused, as
		// PyPI does since late 2025.
		legacy := disttest.Dist{Name: "Foo_Bar.baz", Version: "2.0"}
		if _, err := f.upload(alice, Form(legacy.Form("bdist_wheel", legacy.Wheel())), "Foo_Bar.baz-2.0-py3-none-any.whl", legacy.Wheel()); err == nil ||
			!strings.HasPrefix(err.Error(), "Filename 'Foo_Bar.baz-2.0-py3-none-any.whl' should contain the normalized project name 'foo_bar_baz', not 'Foo_Bar.baz'.") {
			t.Fatalf("wheel named as setuptools 66 names it: %v", err)
		}
		f.mustWheel(alice, legacy)
		if err := f.svc.DeleteFile(ctx, alice, legacy.WheelFilename()); err != nil {
			t.Fatal(err)
		}
		view, err := f.svc.LoadProject(ctx, "foo-bar-baz")
		if err != nil {
			t.Fatal(err)
		}
		if len(view.Releases) != 2 || len(view.Releases[0].Files) != 3 || len(view.Files) != 3 || view.Releases[0].Summary != "first" {
			t.Fatalf("releases = %d, files = %d, summary %q; want release 1.0 with 3 files keeping its first summary (and an empty 2.0)",
				len(view.Releases), len(view.Files), view.Releases[0].Summary)
		}
		// The files, and the metadata each release stores.
		want := view.Files[0].Size + view.Files[1].Size + view.Files[2].Size
		for _, v := range []string{"1", "2"} {
			r, err := f.st.ReleaseByCanonicalVersion(ctx, view.Project.ID, v)
			if err != nil {
				t.Fatal(err)
			}
			meta, err := f.st.ReleaseMetadataJSON(ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			html, _, _, err := f.st.ReleaseDescriptionHTML(ctx, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			want += int64(len(meta) + len(html))
		}
		if view.Project.TotalSize != want {
			t.Fatalf("total size %d does not add up to %d", view.Project.TotalSize, want)
		}

		// A deleted file's name can never be used again, even with the
		// same bytes.
		if err := f.svc.DeleteFile(ctx, alice, d.WheelFilename()); err != nil {
			t.Fatal(err)
		}
		if _, err := f.uploadWheel(alice, d); err == nil || !strings.Contains(err.Error(), "previously used by a file that has since been deleted") {
			t.Fatalf("re-upload of a deleted file: %v", err)
		}
		// Only Owners delete.
		bob := f.user("bob")
		if err := f.svc.DeleteFile(ctx, bob, d.SdistFilename()); problem.KindOf(err) != problem.Forbidden {
			t.Fatalf("stranger deletes a file: %v", err)
		}
	})
}

// TestAuthenticateToken covers expired, revoked and disabled credentials.
func TestAuthenticateToken(t *testing.T) {
	t.Parallel()
	storetest.EachDialect(t, func(t *testing.T, d store.Dialect) {
		f := newFixture(t, d, Config{})
		ctx := context.Background()
		u := &store.User{Username: "carol", Email: "c@example.org", PasswordHash: "!", CreatedAt: f.svc.now()}
		if err := f.st.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		newTok := func(expires bool) string {
			tok, hash := auth.NewToken()
			st := &store.Token{UserID: u.ID, Name: "t", Prefix: "p", Hash: hash, CreatedAt: f.svc.now()}
			if expires {
				st.ExpiresAt = f.svc.now().Add(-1)
			}
			if err := f.st.CreateToken(ctx, st); err != nil {
				t.Fatal(err)
			}
			return tok
		}
		good := newTok(false)
		start := f.svc.now()
		clock := start
		f.svc.now = func() time.Time { return clock }
		lastUsed := func() time.Time {
			st, err := f.st.TokenByHash(ctx, auth.HashToken(good))
			if err != nil {
				t.Fatal(err)
			}
			return st.LastUsedAt
		}
		p, err := f.svc.AuthenticateToken(ctx, good, audit.Meta{})
		if err != nil || p.User.ID != u.ID {
			t.Fatalf("AuthenticateToken(good) = %+v, %v", p, err)
		}
		// The last use is recorded, at minute precision.
		if got := lastUsed(); !got.Equal(start.Truncate(time.Microsecond)) {
			t.Fatalf("last use = %v, want %v", got, start)
		}
		clock = start.Add(30 * time.Second)
		f.svc.AuthenticateToken(ctx, good, audit.Meta{})
		if got := lastUsed(); !got.Equal(start.Truncate(time.Microsecond)) {
			t.Fatalf("last use rewritten after 30 s: %v", got)
		}
		clock = start.Add(2 * time.Minute)
		f.svc.AuthenticateToken(ctx, good, audit.Meta{})
		if got := lastUsed(); !got.Equal(clock.Truncate(time.Microsecond)) {
			t.Fatalf("last use after 2 min = %v, want %v", got, clock)
		}
		for name, c := range map[string]struct {
			token, want string
		}{
			"unknown": {"cheeseshop-AAAAAAAAAAAAAAAAAAAAAAAAAA", "the token is not valid"},
			"expired": {newTok(true), "the token expired"},
		} {
			if _, err := f.svc.AuthenticateToken(ctx, c.token, audit.Meta{}); problem.KindOf(err) != problem.Unauthenticated || !strings.Contains(err.Error(), c.want) {
				t.Errorf("%s token: %v, want %q", name, err, c.want)
			}
		}
		if err := f.st.SetUserDisabled(ctx, u.ID, true); err != nil {
			t.Fatal(err)
		}
		if _, err := f.svc.AuthenticateToken(ctx, good, audit.Meta{}); problem.KindOf(err) != problem.Unauthenticated || !strings.Contains(err.Error(), "disabled") {
			t.Fatalf("token of a disabled user: %v", err)
		}
	})
}
