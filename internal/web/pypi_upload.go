package web

import (
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/textproto"
	"strings"

	"cheeseshop/internal/index"
	"cheeseshop/internal/problem"
)

// maxFormBytes and maxFormParts bound the non-file parts of an upload
// (descriptions included), so that a client cannot exhaust memory or CPU
// with fields, large or many; each field has its own bound besides
// (index.FormFieldLimit, readField).
const (
	maxFormBytes = index.MaxFormBytes
	maxFormParts = index.MaxFormFields
)

// credentials extracts an API token from the Authorization header: HTTP
// Basic with the username __token__ (what twine and uv send), or the
// Bearer and token schemes.
func (s *Server) credentials(r *http.Request) (string, error) {
	h := r.Header.Get("Authorization")
	if h == "" {
		return "", &problem.Error{Kind: problem.Unauthenticated, Message: fmt.Sprintf(
			"Invalid or non-existent authentication information. Upload with the username __token__ and an API token as the password. See %s/help/#invalid-auth for more information.",
			s.idx.Config().BaseURL)}
	}
	scheme, rest, _ := strings.Cut(h, " ")
	rest = strings.TrimSpace(rest)
	switch strings.ToLower(scheme) {
	case "bearer", "token":
		return rest, nil
	case "basic":
		raw, err := base64.StdEncoding.DecodeString(rest)
		if err != nil {
			return "", &problem.Error{Kind: problem.Unauthenticated, Message: "Invalid Basic authentication header: it is not base64."}
		}
		user, pass, _ := strings.Cut(string(raw), ":")
		if user != "__token__" {
			return "", &problem.Error{Kind: problem.Unauthenticated, Message: fmt.Sprintf(
				"Username/Password authentication is no longer supported. Migrate to API Tokens: use the username __token__ and a token as the password. See %s/help/#apitoken for more information.",
				s.idx.Config().BaseURL)}
		}
		return pass, nil
	}
	return "", &problem.Error{Kind: problem.Unauthenticated, Message: "Unsupported authentication scheme " + scheme + ": use HTTP Basic with the username __token__ and an API token."}
}

// upload is the legacy upload API (twine, uv publish, poetry publish).
func (a *pypiAPI) upload(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	fail := func(err error) {
		if problem.KindOf(err) == 0 {
			a.s.metrics.uploads.WithLabelValues("error").Inc()
		} else {
			a.s.metrics.uploads.WithLabelValues("refused").Inc()
		}
		a.s.pypiFail(w, r, err)
	}

	// Authenticate before reading a possibly large body.
	token, err := a.s.credentials(r)
	if err != nil {
		fail(err)
		return
	}
	principal, err := a.idx.AuthenticateToken(ctx, token, meta(r))
	if err != nil {
		fail(err)
		return
	}
	if err := a.idx.CheckWrite(ctx, principal); err != nil {
		fail(err)
		return
	}
	if err := a.idx.CheckUploader(ctx, principal); err != nil {
		fail(err)
		return
	}

	mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if mt != "multipart/form-data" {
		fail(&problem.Error{Kind: problem.Invalid, Message: "Invalid upload: send multipart/form-data (as twine and uv do)."})
		return
	}
	budget := limitForm(r)
	mr, err := r.MultipartReader()
	if err != nil {
		fail(&problem.Error{Kind: problem.Invalid, Message: "Invalid upload: " + err.Error()})
		return
	}
	form := index.Form{}
	var in *index.Incoming
	defer func() { in.Close() }()
	for parts := 1; ; parts++ {
		if parts > maxFormParts {
			fail(&problem.Error{Kind: problem.Invalid, Message: fmt.Sprintf("Invalid upload: more than %d form fields.", maxFormParts)})
			return
		}
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			fail(formError(err))
			return
		}
		field := part.FormName()
		if len(field) > index.MaxFieldNameBytes {
			// Refused before any answer could echo it.
			fail(&problem.Error{Kind: problem.Invalid, Message: fmt.Sprintf("Invalid upload: a form field name is longer than %d bytes.", index.MaxFieldNameBytes)})
			return
		}
		switch {
		case field == "content":
			if in != nil {
				fail(&problem.Error{Kind: problem.Invalid, Message: "Invalid upload: more than one 'content' file."})
				return
			}
			if part.FileName() == "" {
				fail(&problem.Error{Kind: problem.Invalid, Message: "Upload payload does not have a file."})
				return
			}
			// twine sends the metadata before the file: refuse an upload
			// to a project the user may not change before reading it.
			if err := a.idx.CheckProjectUpload(ctx, principal, form.Get("name")); err != nil {
				drainBody(r, a.idx.Config().MaxFileSize+maxFormBytes)
				fail(err)
				return
			}
			budget.inFile = true
			in, err = a.idx.Receive(ctx, part, part.FileName(), partType(part.Header), form.Get("name"))
			budget.inFile = false
			if err != nil {
				fail(err)
				return
			}
		// A signature or attestations may come as a file part (twine
		// sends them as fields); the index refuses attestations, which
		// it cannot verify.
		case part.FileName() != "" && field != "gpg_signature" && field != "attestations":
			fail(&problem.Error{Kind: problem.Invalid, Message: field + ": Should not be a tuple."})
			return
		default:
			v, err := readField(part, field)
			if err != nil {
				fail(err)
				return
			}
			form[field] = append(form[field], v)
		}
	}
	res, err := a.idx.Upload(ctx, principal, form, in)
	if err != nil {
		fail(err)
		return
	}
	if res.Existing {
		a.s.metrics.uploads.WithLabelValues("existing").Inc()
	} else {
		a.s.metrics.uploads.WithLabelValues("created").Inc()
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	// A held project's upload succeeded: an error status would make
	// twine and uv report a failure (and CI retry or give up) although
	// the file is kept. The body says why the project is not visible;
	// twine --verbose prints it, and the uploader is also emailed and
	// told on the project's management page.
	if res.Review != nil && res.Review.Held {
		io.WriteString(w, index.HoldNotice(res.Review)+"\n")
	}
	for _, warning := range res.Warnings {
		io.WriteString(w, warning+"\n")
	}
}

// drainBody reads and discards what is left of a refused upload (at most
// limit bytes): clients such as twine write the whole body before they
// read the answer, and a server that answers and closes early makes them
// fail with a broken connection instead of showing the refusal.
func drainBody(r *http.Request, limit int64) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, limit))
}

// partType is the media type of a multipart part as PyPI reads it: a
// part without a Content-Type header is text/plain (RFC 7578, 4.4), which
// PyPI accepts as a distribution file (flit sends no header); a header
// that is present but empty stays empty, which the index refuses.
func partType(h textproto.MIMEHeader) string {
	if v, ok := h["Content-Type"]; ok {
		if len(v) == 0 {
			return ""
		}
		return v[0]
	}
	return "text/plain"
}
