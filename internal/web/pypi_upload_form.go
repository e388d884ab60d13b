package web

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"cheeseshop/internal/index"
	"cheeseshop/internal/problem"
)

// errFormTooLarge is the read error of a formBudget that ran out.
var errFormTooLarge = errors.New("the form fields of the upload are too large")

// formBudget counts the bytes of an upload's body read outside its file
// part (the form fields, and every part's headers, which the multipart
// reader reads whole before handing a part over) and fails the read once
// they exceed index.MaxFormBytes: however a client shapes its fields, the
// server reads no more than that of them.
type formBudget struct {
	r      io.ReadCloser
	left   int64
	inFile bool // the file part is being read: its bytes do not count
}

func (b *formBudget) Read(p []byte) (int, error) {
	n, err := b.r.Read(p)
	if !b.inFile {
		if b.left -= int64(n); b.left < 0 {
			return n, errFormTooLarge
		}
	}
	return n, err
}

func (b *formBudget) Close() error { return b.r.Close() }

// limitForm makes the request's body count its form bytes; inFile (set
// around the reading of the file part) tells it which bytes are the file.
func limitForm(r *http.Request) *formBudget {
	b := &formBudget{r: r.Body, left: index.MaxFormBytes}
	r.Body = b
	return b
}

// formError turns a failure of the multipart reader into the refusal the
// client sees.
func formError(err error) error {
	if errors.Is(err, errFormTooLarge) {
		return &problem.Error{Kind: problem.Invalid, Message: fmt.Sprintf("Invalid upload: the form fields exceed %d MiB.", index.MaxFormBytes>>20)}
	}
	return &problem.Error{Kind: problem.Invalid, Message: "Invalid upload: malformed multipart body: " + err.Error()}
}

// readField reads one value of a form field, refusing it, before anything
// parses it, when it is larger than index.FormFieldLimit allows.
func readField(part io.Reader, field string) (string, error) {
	if len(field) > index.MaxFieldNameBytes {
		return "", &problem.Error{Kind: problem.Invalid, Message: fmt.Sprintf("Invalid upload: a form field name is longer than %d bytes.", index.MaxFieldNameBytes)}
	}
	limit := index.FormFieldLimit(field)
	b, err := io.ReadAll(io.LimitReader(part, limit+1))
	if err != nil {
		if errors.Is(err, errFormTooLarge) {
			return "", formError(err)
		}
		return "", &problem.Error{Kind: problem.Invalid, Message: "Invalid upload: reading field " + field + ": " + err.Error()}
	}
	if int64(len(b)) > limit {
		return "", index.FieldTooLarge(field)
	}
	return strings.ReplaceAll(string(b), "\x00", `\x00`), nil
}
