package index

import (
	"archive/zip"
	"bytes"
	"context"
	"io"
	"log/slog"
	"maps"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"cheeseshop/internal/auth"
	"cheeseshop/internal/blob"
	"cheeseshop/internal/disttest"
	"cheeseshop/internal/store"
	"cheeseshop/internal/store/storetest"
)

// fixture is an index on a fresh database with a blob folder.
type fixture struct {
	t   testing.TB
	svc *Service
	st  *store.Store
	dir string
}

func newFixture(t testing.TB, d store.Dialect, cfg Config) *fixture {
	t.Helper()
	st := storetest.Open(t, d)
	dir := t.TempDir()
	blobs, err := blob.NewFS(filepath.Join(dir, "files"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { blobs.Close() })
	if cfg.BaseURL == "" {
		cfg.BaseURL = "http://index.test"
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	return &fixture{t: t, svc: New(st, blobs, cfg, log), st: st, dir: dir}
}

// user creates an account and returns it acting through an unscoped
// token with the management scope.
func (f *fixture) user(name string) *Principal {
	f.t.Helper()
	ctx := context.Background()
	u := &store.User{Username: name, Email: name + "@example.org", PasswordHash: "!", CreatedAt: time.Now()}
	if err := f.st.CreateUser(ctx, u); err != nil {
		f.t.Fatal(err)
	}
	return f.token(u, false)
}

// countEvents counts the user's latest 100 events tagged tag.
func (f *fixture) countEvents(userID int64, tag string) int {
	f.t.Helper()
	evs, err := f.st.UserEvents(context.Background(), userID, 100)
	if err != nil {
		f.t.Fatal(err)
	}
	n := 0
	for _, e := range evs {
		if e.Tag == tag {
			n++
		}
	}
	return n
}

// token creates a token for u with the management scope, limited to the
// named projects if scoped.
func (f *fixture) token(u *store.User, scoped bool, projects ...string) *Principal {
	f.t.Helper()
	ctx := context.Background()
	_, hash := auth.NewToken()
	tok := &store.Token{UserID: u.ID, Name: "t", Prefix: "p", Hash: hash, Scoped: scoped, CanManage: true, CreatedAt: time.Now()}
	for _, name := range projects {
		p, err := f.st.ProjectByName(ctx, name)
		if err != nil {
			f.t.Fatal(err)
		}
		tok.ProjectIDs = append(tok.ProjectIDs, p.ID)
	}
	if err := f.st.CreateToken(ctx, tok); err != nil {
		f.t.Fatal(err)
	}
	return &Principal{User: u, Token: tok}
}

// upload sends content under filename with form, as the HTTP layer does.
func (f *fixture) upload(p *Principal, form Form, filename string, content []byte) (*UploadResult, error) {
	ctx := context.Background()
	in, err := f.svc.Receive(ctx, bytes.NewReader(content), filename, "application/octet-stream", form.Get("name"))
	if err != nil {
		return nil, err
	}
	defer in.Close()
	return f.svc.Upload(ctx, p, form, in)
}

// uploadWheel uploads d's wheel with twine's form.
func (f *fixture) uploadWheel(p *Principal, d disttest.Dist) (*UploadResult, error) {
	w := d.Wheel()
	return f.upload(p, d.Form("bdist_wheel", w), d.WheelFilename(), w)
}

// uploadSdist uploads d's sdist with twine's form.
func (f *fixture) uploadSdist(p *Principal, d disttest.Dist) (*UploadResult, error) {
	s := d.Sdist()
	return f.upload(p, d.Form("sdist", s), d.SdistFilename(), s)
}

// mustWheel uploads d's wheel and fails the test if it is refused.
func (f *fixture) mustWheel(p *Principal, d disttest.Dist) *UploadResult {
	f.t.Helper()
	res, err := f.uploadWheel(p, d)
	if err != nil {
		f.t.Fatalf("upload of %s refused: %v", d.WheelFilename(), err)
	}
	return res
}

// mustSdist uploads d's sdist and fails the test if it is refused.
func (f *fixture) mustSdist(p *Principal, d disttest.Dist) *UploadResult {
	f.t.Helper()
	res, err := f.uploadSdist(p, d)
	if err != nil {
		f.t.Fatalf("upload of %s refused: %v", d.SdistFilename(), err)
	}
	return res
}

// zipOf builds a zip (a malformed wheel) from name → content, with the
// members compressed by method (zip.Deflate or zip.Store).
func zipOf(method uint16, files map[string][]byte) []byte {
	var buf bytes.Buffer
	zw := disttest.NewZipWriter(&buf)
	for _, name := range sortedKeys(files) {
		zw.AddBytes(name, method, files[name])
	}
	zw.Close()
	return buf.Bytes()
}

func sortedKeys[V any](m map[string]V) []string { return slices.Sorted(maps.Keys(m)) }

// wheelFiles returns the members of d's valid wheel, to tamper with.
func wheelFiles(d disttest.Dist) map[string][]byte {
	zr, err := zip.NewReader(bytes.NewReader(d.Wheel()), int64(len(d.Wheel())))
	if err != nil {
		panic(err)
	}
	out := map[string][]byte{}
	for _, f := range zr.File {
		rc, _ := f.Open()
		b, _ := io.ReadAll(rc)
		rc.Close()
		out[f.Name] = b
	}
	return out
}
