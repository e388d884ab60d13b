package web

import (
	"html/template"
	"net/http"
	"strconv"
	"time"

	"cheeseshop/internal/account"
	"cheeseshop/internal/auth"
	"cheeseshop/internal/index"
	"cheeseshop/internal/twofactor"
)

type page struct {
	Title string
	Body  template.HTML
}

// renderPage shows static help text inside the layout.
func (s *Server) renderPage(w http.ResponseWriter, r *http.Request, p page) {
	s.render(w, r, http.StatusOK, "page", p.Title, p.Body)
}

// homeRecent is how many recently updated projects the home page lists.
const homeRecent = 10

func (s *Server) home(w http.ResponseWriter, r *http.Request) {
	recent, err := s.acct.Store().RecentProjects(r.Context(), homeRecent)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	listed, err := s.listings(r.Context(), recent)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "home", "Python package index", map[string]any{"Recent": listed})
}

func (s *Server) help(w http.ResponseWriter, r *http.Request) {
	base := template.HTMLEscapeString(s.idx.Config().BaseURL)
	// count writes a whole number of units of d, such as "24 hours".
	count := func(d, unit time.Duration, name string) string {
		if n := int64(d / unit); n != 1 {
			return itoa(n) + " " + name + "s"
		}
		return "1 " + name
	}
	required := "This index does not require it at the moment."
	if s.tf != nil && s.tf.Config().RequireAll {
		required = "<strong>This index requires it now.</strong>"
	}
	userLimit := twofactor.UserLimits[0]
	s.renderPage(w, r, page{Title: "Help", Body: template.HTML(`
<h2 id="invalid-auth">Authentication for uploads</h2>
<p>Uploads authenticate with an API token: the username is <code>__token__</code> and the password is the token,
which starts with <code>cheeseshop-</code>. Create one on <a href="/manage/account/tokens/">your API tokens page</a>
(see <a href="#web-tokens">below</a>), or ask an administrator, who can run
<code>cheeseshop admin token create --username NAME</code>.</p>
<h2 id="apitoken">API tokens</h2>
<p>Passwords are never accepted for uploads. A token can act for all of its user's projects, or be scoped to some
projects (it then cannot create new ones), and can expire.</p>
<pre>twine upload --repository-url ` + base + `/legacy/ -u __token__ -p cheeseshop-… dist/*</pre>
<h2 id="project-name">Project names</h2>
<p>Names start and end with a letter or digit and contain only ASCII letters, digits, <code>.</code>, <code>_</code>
and <code>-</code>. A new name is refused when it is a Python standard-library module, prohibited by the
administrators, or too similar to an existing project: names are compared after lower-casing, removing
<code>.</code>, <code>_</code> and <code>-</code>, and reading <code>l</code> and <code>i</code> as <code>1</code>
and <code>o</code> as <code>0</code>. Only the project's Owners and Maintainers may upload to it.</p>
<h2 id="file-name-reuse">File name reuse</h2>
<p>A file name can be used once. Uploading the identical file again succeeds and changes nothing, so retries are
safe; a different file under a used name is refused, even if the earlier file was deleted. Publish a new version
(or a post-release, such as <code>1.0.post1</code>) instead.</p>
<h2 id="file-size-limit">File size limit</h2>
<p>Each file may be at most ` + template.HTMLEscapeString(byteSize(s.idx.Config().MaxFileSize)) + `.</p>
<h2 id="project-size-limit">Project size limit</h2>
<p>All files of a project together may be at most ` + template.HTMLEscapeString(byteSize(s.idx.Config().MaxProjectSize)) + `.
Delete old files to make room, or ask the administrators for a larger limit.</p>
<h2 id="accounts">Accounts and email verification</h2>
<p><a href="/account/register/">Register</a> with a username (1 to 50 ASCII letters, digits, <code>.</code>,
<code>_</code> or <code>-</code>, starting and ending with a letter or digit), an email address and a password of at
least ` + itoa(auth.MinPasswordLength) + ` characters that is not a common password and does not contain your username.
We email you a link to verify your address (if the address already belongs to an account, we email its owner
instead, and create nothing); it works for ` + count(account.VerifyEmailTTL, time.Hour, "hour") + ` and only for the address it was
sent to. Then log in with your username and password. Until you follow it you cannot create API tokens or be invited to projects. Your
<a href="/manage/account/">account page</a> sends a new link (earlier ones stop working), changes your email address
(the new one must be verified again; the old one is told) or password (your other sessions end), and signs you out
everywhere. Forgot your password? <a href="/account/reset-password/">Reset it</a> with a link valid for
` + count(account.ResetPasswordTTL, time.Hour, "hour") + `. Too many wrong passwords make you wait a few minutes. Sign-ins, token use, role changes and
other security events are listed in your <a href="/manage/account/security-history/">security history</a>.</p>
<h2 id="two-factor-authentication">Two-factor authentication</h2>
<p>Two-factor authentication protects your account even if your password leaks: after your password, you confirm
with a second factor. Set it up on your <a href="/manage/account/two-factor/">two-factor authentication page</a>:</p>
<ul>
<li><strong>Recovery codes</strong> come first. Generate ` + itoa(twofactor.RecoveryCodeCount) + ` codes, save them somewhere safe
away from your phone (a password manager, or a printed sheet), and type one back to confirm you saved them (it is not
used up); only then can you enable an authenticator app or a security key. Each code works once. When only a few are
left, generate new ones: the old ones then stop working. Recovery codes alone do not count as two-factor
authentication.</li>
<li><strong>An authenticator app</strong> (TOTP) on your phone shows a new 6-digit code every 30 seconds: scan the QR
code or type the secret into it, then enter the code it shows to finish. One app per account.</li>
<li><strong>Security keys</strong> (WebAuthn): a USB or NFC key, or one built into your device. Give each a name.
Register more than one, so that losing a key does not lock you out.</li>
</ul>
<p><strong>Signing in:</strong> after your password you have ` + count(account.DefaultPendingTimeout, time.Minute, "minute") + ` for the second step. We ask for
a security key if you have one, else a code from your app; the links under the form let you use another of your
methods, or a recovery code. Each code from the app works once: if it was just used, wait for the next one. A code
refused as <em>out of sync</em> means your device's clock is wrong: set it to update automatically. After
` + itoa(int64(userLimit.Max)) + ` failed attempts in ` + count(userLimit.Window, time.Minute, "minute") + ` you must wait before trying again. Uploads with an API token never ask
for a second factor, so keep your tokens safe too.</p>
<p>Removing a method or generating new recovery codes asks you to confirm it is you (with any of your methods) unless
you did in the last ` + count(twofactor.ReauthWindow, time.Minute, "minute") + `. We email you when a method is added or removed, when a recovery code is
used, and when someone gives your password but fails the second step; all of these are in your
<a href="/manage/account/security-history/">security history</a>.</p>
<p><strong>Lost your phone or a security key?</strong> Sign in with another method: another key, your app, or a
recovery code. Then, on your <a href="/manage/account/two-factor/">two-factor authentication page</a>, remove the
lost method, set up a new one, and generate new recovery codes if you used some. If you lost every method and every
recovery code, you cannot sign in (resetting your password does not skip the second step): contact the
administrators of this index.</p>
<h2 id="require-2fa">When two-factor authentication is required</h2>
<p>The administrators can require two-factor authentication of every account. Then, until you enable an
authenticator app or a security key (recovery codes alone are not enough), you can only set it up: other pages send
you to your <a href="/manage/account/two-factor/">two-factor authentication page</a>, and uploads and the management
API are refused with a message that links to it, even with API tokens you created before. Once you have enabled a
method, the same tokens work again. While it is required, your last method cannot be removed: add another one
first. ` + required + `</p>
<h2 id="web-tokens">API tokens from the web UI</h2>
<p>On <a href="/manage/account/tokens/">your API tokens page</a>, give the token a name and choose its scope: all your
projects (it can also create new projects), or only some of the projects you collaborate on (it can then upload only
to those). Optionally make it expire after a number of days. The token is shown <strong>once</strong>, when created:
copy it then; the index keeps only a hash. Each token shows when it was last used. Revoke a token you no longer need,
or that may have leaked: it is refused at once. A token scoped to projects cannot create, list or revoke tokens.</p>
<h2 id="roles">Roles: Owner and Maintainer</h2>
<p>Whoever uploads a new project becomes its Owner. <strong>Maintainers</strong> upload files, see the project's
management pages and security history, and may leave the project. <strong>Owners</strong> may also invite, remove and
change the role of collaborators, yank releases, and delete files, releases and the project. An Owner invites a user
(who must have a verified email address) on the project's collaborators page; the invitation expires after
` + count(index.InvitationLifetime, 24*time.Hour, "day") + `, and the user accepts or declines it on <a href="/manage/projects/">Your projects</a>. A project always keeps at least one
Owner: the last Owner cannot be removed, demoted or leave, so make another collaborator an Owner first.</p>
<h2 id="yanking">Yanking a release</h2>
<p>An Owner can yank a release (PEP 592), with an optional reason, from the release's management page. Its files stay
available, but pip and other installers skip a yanked release unless it is pinned exactly
(<code>==1.0</code>), and warn when they install it. Un-yank it the same way. Prefer yanking to deleting: nothing
that depends on the release breaks.</p>
<h2 id="deleting">Deleting files, releases and projects</h2>
<p>Owners can delete a single file, a release with all its files, or the whole project (type its name to confirm).
Deletion cannot be undone. File names stay used forever (see <a href="#file-name-reuse">file name reuse</a>): the
same file name can never be uploaded again, so publish a new version instead. A deleted project's name is reserved:
nobody, you included, can create a project with that name again, so that no one can take over its users.</p>`)})
}

func byteSize(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return itoa(n>>30) + " GiB"
	case n >= 1<<20 && n%(1<<20) == 0:
		return itoa(n>>20) + " MiB"
	}
	return itoa(n) + " bytes"
}

func itoa(n int64) string {
	return strconv.FormatInt(n, 10)
}

func (s *Server) healthz(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ok\n"))
}

func (s *Server) readyz(w http.ResponseWriter, r *http.Request) {
	if s.opts.Ready != nil {
		if err := s.opts.Ready(); err != nil {
			// The error names the database's host, user and name: it goes
			// to the log, and anybody may ask /readyz.
			s.log.WarnContext(r.Context(), "not ready", "err", err)
			http.Error(w, "not ready: database unavailable", http.StatusServiceUnavailable)
			return
		}
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Write([]byte("ready\n"))
}
