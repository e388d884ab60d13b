package mail

import (
	"bytes"
	"context"
	"embed"
	"fmt"
	"log/slog"
	"maps"
	"strconv"
	"strings"
	"text/template"

	"cheeseshop/internal/words"
)

// templateFiles are the emails cheeseshop sends, one text/template a
// file: its first line is the subject, then an empty line, then the body.
// parts.txt holds the parts the others share.
//
//go:embed templates/*.txt
var templateFiles embed.FS

// templates are the parsed emails. A key the data lacks is an error, not
// "<no value>" in a user's mailbox.
var templates = template.Must(template.New("").Option("missingkey=error").Funcs(template.FuncMap{
	"duration": words.Duration,
	"time":     words.Time,
	"quote":    strconv.Quote,
}).ParseFS(templateFiles, "templates/*.txt"))

// Data is what an email's template reads: its keys are the names the
// template uses ({{.Username}}). Sender adds BaseURL.
type Data map[string]any

// Sender sends the emails of templates/ through a Mailer: the one way
// cheeseshop writes to its users.
type Sender struct {
	// Mailer sends the messages; nil drops them with a warning (a
	// server without email configured).
	Mailer Mailer
	// BaseURL is the public URL of the server, without a trailing slash:
	// {{.BaseURL}} in the templates.
	BaseURL string
	Log     *slog.Logger
}

// Send renders the email name (a file of templates/ without its .txt)
// with data and sends it to to. A failure is logged and returned: the
// caller decides whether it matters.
func (s *Sender) Send(ctx context.Context, to, name string, data Data) error {
	m, err := render(name, s.BaseURL, data)
	if err != nil {
		s.Log.ErrorContext(ctx, "render email", "email", name, "err", err)
		return err
	}
	m.To = to
	if s.Mailer == nil {
		s.Log.WarnContext(ctx, "no mailer: email dropped", "to", to, "subject", m.Subject)
		return nil
	}
	if err := s.Mailer.Send(ctx, m); err != nil {
		s.Log.ErrorContext(ctx, "send email", "to", to, "subject", m.Subject, "err", err)
		return fmt.Errorf("mail: email %s to %s: %w", name, to, err)
	}
	return nil
}

// render writes the email name with data and baseURL: its subject and
// text.
func render(name, baseURL string, data Data) (Message, error) {
	all := maps.Clone(data)
	if all == nil {
		all = Data{}
	}
	all["BaseURL"] = baseURL
	var b bytes.Buffer
	if err := templates.ExecuteTemplate(&b, name+".txt", all); err != nil {
		return Message{}, fmt.Errorf("mail: email %s: %w", name, err)
	}
	subject, text, ok := strings.Cut(b.String(), "\n\n")
	if !ok || subject == "" || strings.Contains(subject, "\n") {
		return Message{}, fmt.Errorf("mail: email %s: no subject line followed by an empty line", name)
	}
	return Message{Subject: subject, Text: text}, nil
}
