package mail

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"strings"
	"testing"
	"time"
)

const base = "https://pypi.example.org"

// signature and notYou end the emails of account and recovery, and of
// twofactor, as they did when each package wrote its own.
const (
	signature = "\n\n-- \ncheeseshop, " + base + "/\n"
	notYou    = "\nIf you did not make this change, contact the administrators of " + base + " at once.\n"
)

var (
	t0   = time.Date(2025, 3, 8, 12, 30, 0, 0, time.UTC)
	link = base + "/account/x/?token=abc"
)

// emails is every email with sample data, and its subject and text as
// written by the fmt.Sprintf calls that the templates replaced: each
// email reads as it did.
// lookalikeData and flaggedData are the samples of the look-alike emails.
var (
	lookalikeData = Data{"Username": "alice", "Project": "reqests", "Normalized": "reqests", "Target": "requests",
		"Rank": int64(3), "Kind": "omission", "Held": true, "Uploader": "mallory"}
	flaggedData = Data{"Username": "alice", "Project": "reqests", "Normalized": "reqests", "Target": "requests",
		"Rank": int64(3), "Kind": "omission", "Held": false, "Uploader": "mallory"}
)

// upstreamNameData is the sample of the emails of a project held under
// an upstream's name.
var upstreamNameData = Data{"Username": "alice", "Project": "requests", "Normalized": "requests", "Target": "https://pypi.org/simple/",
	"Rank": int64(0), "Kind": "upstream-name", "Held": true, "Uploader": "mallory"}

// reportedData is the sample of the report email.
func reportedData(quarantined bool) Data {
	return Data{"Username": "alice", "Project": "reqests", "Normalized": "reqests", "Reporter": "mallory",
		"Kind": "malware", "Text": "setup.py runs <script>", "Quarantined": quarantined}
}

var emails = []struct {
	name          string
	data          Data
	subject, text string
}{
	{"lookalike-held", lookalikeData,
		"reqests is held for review: its name resembles requests", fmt.Sprintf(
			"Hello alice,\n\n"+
				"You created the project reqests on %[1]s. Its name resembles requests (omission), one of the most downloaded projects, and attackers publish look-alike names like this one to trick people who mistype a name into installing malware (typosquatting). So the project is held for review:\n\n- your upload was accepted and kept, but the project is not published: installers cannot see it, and its pages and files answer \"not found\";\n- further uploads to it are accepted too, and stay held;\n- an administrator of the index will look at it and either approve it (it is then published at once, with everything you uploaded) or delete it. You will get an email either way.\n\nIf the name is legitimate, you have nothing to do. To explain it or hurry the review, contact the administrators of %[1]s. Your project's page: %[1]s/manage/project/reqests/", base) + signature},
	{"lookalike-review", lookalikeData,
		"Look-alike name held: reqests resembles requests", fmt.Sprintf(
			"Hello alice,\n\nmallory created the project reqests on %[1]s. Its name resembles requests (rank 3 of the protected names; omission).\n\n"+
				"The project is held: it is not published until an administrator approves it.\n\n"+
				"Review queue: %[1]s/admin/lookalikes/\nOr on the command line: cheeseshop admin lookalike approve reqests, or cheeseshop admin lookalike reject reqests (deletes the project and prohibits its name).", base) + signature},
	{"lookalike-review", flaggedData,
		"Look-alike name flagged: reqests resembles requests", fmt.Sprintf(
			"Hello alice,\n\nmallory created the project reqests on %[1]s. Its name resembles requests (rank 3 of the protected names; omission).\n\n"+
				"The project is published (the look-alike policy is \"flag\"); review it all the same.\n\n"+
				"Review queue: %[1]s/admin/lookalikes/\nOr on the command line: cheeseshop admin lookalike approve reqests, or cheeseshop admin lookalike reject reqests (deletes the project and prohibits its name).", base) + signature},
	{"lookalike-approved", lookalikeData,
		"reqests is approved and published", fmt.Sprintf(
			"Hello alice,\n\nAn administrator of %[1]s reviewed the name of your project reqests, which resembles requests, and approved it. "+
				"The project is now published: installers can find it and its files.\n\nThe project: %[1]s/project/reqests/", base) + signature},
	{"lookalike-rejected", lookalikeData,
		"reqests was deleted as a look-alike of requests", fmt.Sprintf(
			"Hello alice,\n\nAn administrator of %[1]s reviewed the name of your project reqests, which resembles requests (omission), "+
				"and deleted the project with its files. The name is now prohibited.\n\nIf you believe this is a mistake, contact the administrators of %[1]s.", base) + signature},
	{"upstream-name-held", upstreamNameData,
		"requests is held for review: an upstream index lists its name", "Hello alice,\n\nYou created the project requests on " + base + ". The upstream index https://pypi.org/simple/, whose projects this index serves to the people who install from it, lists a project of the same name. A local project of that name would hide the upstream's from everyone who installs through this index: attackers publish private names on public indexes, and public names on private ones, to get their code installed instead (dependency confusion). So the project is held for review:\n\n- your upload was accepted and kept, but the project is not published: installers still get the upstream's project;\n- further uploads to it are accepted too, and stay held;\n- an administrator of the index will look at it and either approve it (it is then published at once, with everything you uploaded, and hides the upstream's project) or delete it. You will get an email either way.\n\nIf the name is meant to be local, you have nothing to do. To explain it or hurry the review, contact the administrators of " + base + ". Your project's page: " + base + "/manage/project/requests/" + signature},
	{"upstream-name-review", upstreamNameData,
		"Upstream name held: requests exists on https://pypi.org/simple/", "Hello alice,\n\nmallory created the project requests on " + base + ". The upstream index https://pypi.org/simple/ lists a project of the same name: approved, the local project would hide the upstream's from everyone who installs through this index (dependency confusion).\n\nThe project is held: it is not published, and the upstream's project is still served, until an administrator approves it.\n\nReview queue: " + base + "/admin/lookalikes/\nOr on the command line: cheeseshop admin lookalike approve requests, or cheeseshop admin lookalike reject requests (deletes the local project; the upstream's stays served)." + signature},
	{"upstream-name-approved", upstreamNameData,
		"requests is approved and published", "Hello alice,\n\nAn administrator of " + base + " reviewed your project requests, whose name the upstream index https://pypi.org/simple/ lists too, and approved it. The project is now published: installers that use " + base + " get it instead of the upstream's.\n\nThe project: " + base + "/project/requests/" + signature},
	{"upstream-name-rejected", upstreamNameData,
		"requests was deleted: the name is the upstream index's", "Hello alice,\n\nAn administrator of " + base + " reviewed your project requests, whose name the upstream index https://pypi.org/simple/ lists too, and deleted the project with its files: installers that use " + base + " keep getting the upstream's project of that name.\n\nIf you believe this is a mistake, contact the administrators of " + base + "." + signature},
	{"upstream-name-shadowed", Data{"Username": "alice", "Project": "requests", "Normalized": "requests", "Upstream": "https://pypi.org/simple/", "Uploader": "mallory"},
		"Local project requests now hides the upstream's", "Hello alice,\n\nmallory created the project requests on " + base + ", although the upstream index https://pypi.org/simple/ lists a project of the same name. This index lets local projects take upstream names (--upstream-local-names allow): from now on, everyone who installs requests through this index gets the local project, not the upstream's.\n\nIf that is not meant (dependency confusion), quarantine or delete the project: " + base + "/admin/quarantine/\nOr on the command line: cheeseshop admin project quarantine requests --reason TEXT" + signature},
	{"upstream-break-glass", Data{"Username": "alice", "Project": "requests", "By": "root", "Reason": "CVE fix", "Expires": t0},
		"Break glass: requests skips the minimum release age", "Hello alice,\n\nroot let the files of requests through the minimum release age of " + base + " until 2025-03-08 12:30 UTC: installers can now get its newest files from the upstream index, however recent, and a malicious release published minutes ago would no longer be held back.\n\nThe reason given: CVE fix\n\nThe rules on upstream names: cheeseshop admin upstream rules\nTo close it again: cheeseshop admin upstream remove requests" + signature},
	{"upstream-break-glass", Data{"Username": "alice", "Project": "requests", "By": "root", "Reason": "", "Expires": time.Time{}},
		"Break glass: requests skips the minimum release age", "Hello alice,\n\nroot let the files of requests through the minimum release age of " + base + ", with no expiry: installers can now get its newest files from the upstream index, however recent, and a malicious release published minutes ago would no longer be held back.\n\nThe rules on upstream names: cheeseshop admin upstream rules\nTo close it again: cheeseshop admin upstream remove requests" + signature},
	{"register-username-taken", Data{"Username": "alice"},
		"Your cheeseshop account was not created", fmt.Sprintf(
			"Hello,\n\nSomeone (we hope you) asked to create an account named %s on cheeseshop with this address, "+
				"but another account took that username in the meantime. To choose another one, register again: %s/account/register/",
			"alice", base) + signature},
	{"register-email-taken", Data{"Owner": "alice", "Username": "mallory", "IP": "192.0.2.1"},
		"Someone tried to create an account with your email address", fmt.Sprintf(
			"Hello %s,\n\nSomeone (perhaps you) tried to create a new cheeseshop account named %s with this email address "+
				"(from %s). This address already belongs to your account %s, so no account was created.\n\n"+
				"If it was you: log in at %s/account/login/ (forgot your password? %s/account/reset-password/).\n"+
				"If it was not you, you need do nothing.",
			"alice", "mallory", "192.0.2.1", "alice", base, base) + signature},
	{"verify-email", Data{"Username": "alice", "Email": "a@example.org", "Link": link, "TTL": 24 * time.Hour},
		"Verify your email address", fmt.Sprintf(
			"Hello %s,\n\nTo confirm that %s is your email address on cheeseshop, open this link:\n\n%s\n\n"+
				"The link works once, for %s. If you did not ask for it, ignore this email.",
			"alice", "a@example.org", link, "24 hours") + signature},
	{"reset-password", Data{"Username": "alice", "Link": link, "TTL": time.Hour},
		"Reset your password", fmt.Sprintf(
			"Hello %s,\n\nSomeone (we hope you) asked to reset the password of your cheeseshop account. "+
				"To choose a new password, open this link:\n\n%s\n\n"+
				"The link works once, for %s. If you did not ask for it, ignore this email: your password stays as it is.",
			"alice", link, "1 hour") + signature},
	{"new-device", Data{"Username": "alice", "Used": "a code from its authenticator app", "Factor": "authenticator app",
		"When": time.Date(2026, 12, 6, 19, 5, 0, 0, time.UTC), "IP": "192.0.2.1", "Browser": "Firefox/140.0", "TTL": 15 * time.Minute, "Link": link},
		"Confirm a sign-in from a new browser", fmt.Sprintf(
			"Hello %[1]s,\n\nSomeone (we hope you) signed in to your cheeseshop account %[2]q with its password and a code from its authenticator app, "+
				"from a browser this account has not used before:\n\n"+
				"  When:    2026-12-06 19:05 UTC\n  Address: 192.0.2.1\n  Browser: Firefox/140.0\n\n"+
				"To finish signing in, open this link in THAT browser, the one where you are signing in (it works once, for 15 minutes):\n\n%[3]s\n\n"+
				"The link does nothing in any other browser or mail app: it only finishes the sign-in in the browser that is waiting for it.\n\n"+
				"If this was not you, someone has your password AND your authenticator app: change both now, "+
				"at %[4]s/manage/account/ (your password) and %[4]s/manage/account/two-factor/ (your second factors). Do not open the link.",
			"alice", "alice", link, base) + signature},
	{"password-reset", Data{"Username": "alice", "IP": "192.0.2.1"},
		"Your password was changed", fmt.Sprintf(
			"Hello %s,\n\nThe password of your cheeseshop account was reset with a link sent to this address, "+
				"and every session was signed out (from %s).\n\n"+
				"If it was not you, reset your password again at once: %s/account/reset-password/",
			"alice", "192.0.2.1", base) + signature},
	{"password-changed", Data{"Username": "alice", "IP": "192.0.2.1"},
		"Your password was changed", fmt.Sprintf(
			"Hello %s,\n\nThe password of your cheeseshop account was changed (from %s), and your other sessions were signed out.\n\n"+
				"If it was not you, reset your password at once: %s/account/reset-password/",
			"alice", "192.0.2.1", base) + signature},
	{"email-changed", Data{"Username": "alice", "Old": "a@example.org", "New": "b@example.org", "IP": "192.0.2.1"},
		"Your email address was changed", fmt.Sprintf(
			"Hello %s,\n\nThe email address of your cheeseshop account was changed from %s to %s (from %s).\n\n"+
				"If it was not you, reset your password at once: %s/account/reset-password/ and contact the index administrators.",
			"alice", "a@example.org", "b@example.org", "192.0.2.1", base) + signature},
	{"recovery-waiting", Data{"Username": "alice", "IP": "192.0.2.1", "CancelLink": link},
		"Your account recovery request is waiting", fmt.Sprintf(
			"Hello %s,\n\nSomeone (we hope you) asked again to recover your cheeseshop account (from %s). "+
				"A recovery request of your account is already waiting for an administrator.\n\n"+
				"If you did not ask for it, cancel it now:\n\n%s", "alice", "192.0.2.1", link) + signature},
	{"recovery-confirm", Data{"Username": "alice", "IP": "192.0.2.1", "ConfirmTTL": 24 * time.Hour, "ConfirmLink": link,
		"Wait": 7 * 24 * time.Hour, "CancelLink": link + "2"},
		"Confirm your account recovery request", fmt.Sprintf(
			"Hello %s,\n\nSomeone (we hope you) asked to recover your cheeseshop account (from %s): to remove every "+
				"two-factor method (authenticator app, security keys, recovery codes) and reset your password.\n\n"+
				"To confirm the request, open this link (it works once, for %s):\n\n%s\n\n"+
				"Then a waiting period of %s starts, after which an administrator may approve the request.\n\n"+
				"If you did not ask for it, cancel the request:\n\n%s\n\n"+
				"and consider changing your password: whoever asked may know it.",
			"alice", "192.0.2.1", "24 hours", link, "7 days", link+"2") + signature},
	{"recovery-confirmed", Data{"Username": "alice", "IP": "192.0.2.1", "EligibleAt": t0, "CancelLink": link},
		"Your account recovery request is confirmed", fmt.Sprintf(
			"Hello %s,\n\nYour request to recover your cheeseshop account was confirmed (from %s). The waiting period "+
				"runs until %s; after it an administrator may approve the request, which removes every two-factor method "+
				"of your account, signs out every session and sends you a link to choose a new password.\n\n"+
				"If you did not ask for it, or you found a second factor again, cancel the request:\n\n%s",
			"alice", "192.0.2.1", "2025-03-08 12:30 UTC", link) + signature},
	{"recovery-cancelled", Data{"Username": "alice", "IP": "192.0.2.1"},
		"Your account recovery request was cancelled", fmt.Sprintf(
			"Hello %s,\n\nThe recovery request of your cheeseshop account was cancelled (from %s). "+
				"Nothing of your account changed: your password and two-factor methods stay as they are.",
			"alice", "192.0.2.1") + signature},
	{"recovery-approved", Data{"Username": "alice", "ResetTTL": 24 * time.Hour, "ResetLink": link},
		"Your account was recovered: choose a new password", fmt.Sprintf(
			"Hello %s,\n\nAn administrator approved the recovery of your cheeseshop account. Every two-factor method "+
				"(authenticator app, security keys, recovery codes) was removed, every session was signed out, and your "+
				"password no longer works.\n\nChoose a new password with this link (it works once, for %s):\n\n%s\n\n"+
				"Then sign in and set up two-factor authentication again: %s/manage/account/two-factor/\n\n"+
				"If the link expired, ask for a new one at %s/account/reset-password/",
			"alice", "24 hours", link, base, base) + signature},
	{"recovery-rejected", Data{"Username": "alice", "Note": ""},
		"Your account recovery request was rejected",
		"Hello alice,\n\nAn administrator rejected the recovery request of your cheeseshop account. " +
			"Nothing of your account changed." + signature},
	{"recovery-rejected", Data{"Username": "alice", "Note": "We could not verify it."},
		"Your account recovery request was rejected",
		"Hello alice,\n\nAn administrator rejected the recovery request of your cheeseshop account. " +
			"Nothing of your account changed.\n\nThe administrator's note: We could not verify it." + signature},
	{"twofactor-failed", Data{"Username": "alice", "Method": "totp", "Reason": "wrong code", "IP": "192.0.2.1"},
		"Failed two-factor attempt on your account", "Hello alice,\n\n" +
			fmt.Sprintf("Someone gave the right password for your account %q but failed the second step (%s: %s), from %s.\n\n"+
				"If this was not you, change your password now: %s/manage/account/\n", "alice", "totp", "wrong code", "192.0.2.1", base) + notYou},
	{"recovery-codes-generated", Data{"Username": "alice"},
		"Recovery codes generated", "Hello alice,\n\n" +
			"New recovery codes were generated for your account; the earlier ones no longer work.\n" + notYou},
	{"recovery-code-used", Data{"Username": "alice", "IP": "192.0.2.1", "Left": 5, "Low": false},
		"Recovery code used", "Hello alice,\n\n" +
			fmt.Sprintf("A recovery code was used to sign in to your account, from %s. %d codes are left.\n%s", "192.0.2.1", 5, "") + notYou},
	{"recovery-code-used", Data{"Username": "alice", "IP": "192.0.2.1", "Left": 2, "Low": true},
		"Recovery code used", "Hello alice,\n\n" +
			fmt.Sprintf("A recovery code was used to sign in to your account, from %s. %d codes are left.\n%s", "192.0.2.1", 2,
				"Generate new recovery codes now: "+base+"/manage/account/recovery-codes/\n") + notYou},
	{"totp-added", Data{"Username": "alice"},
		"Two-factor method added: authenticator app", "Hello alice,\n\n" +
			"An authenticator app was added to your account as a second factor.\n" + notYou},
	{"totp-removed", Data{"Username": "alice"},
		"Two-factor method removed: authenticator app", "Hello alice,\n\n" +
			"The authenticator app was removed from your account.\n" + notYou},
	{"key-added", Data{"Username": "alice", "Label": `Yubi "5"`},
		"Two-factor method added: security key", "Hello alice,\n\n" +
			fmt.Sprintf("A security key named %q was added to your account as a second factor.\n", `Yubi "5"`) + notYou},
	{"passkey-added", Data{"Username": "alice", "Label": "Phone"},
		"Two-factor method added: passkey", "Hello alice,\n\n" +
			"A passkey named \"Phone\" was added to your account. It signs you in by itself, without your password.\n" + notYou},
	{"passkey-removed", Data{"Username": "alice", "Label": "Phone"},
		"Two-factor method removed: passkey", "Hello alice,\n\n" +
			"The passkey named \"Phone\" was removed from your account.\n" + notYou},
	{"passkey-upgraded", Data{"Username": "alice", "Label": "Yubi"},
		"Security key made a passkey", "Hello alice,\n\n" +
			"Your security key named \"Yubi\" was replaced by a passkey of the same name, which signs you in by itself, without your password.\n" + notYou},
	{"key-copied", Data{"Username": "alice", "Label": "Yubi", "IP": "192.0.2.1", "Got": uint32(3), "Stored": int64(7)},
		"Security key refused: it may have been copied", "Hello alice,\n\n" +
			fmt.Sprintf("Your security key %q was used to sign in to your account %q from %s, but its signature counter went "+
				"backwards (%d, after %d). This happens when a copy of the key is in use. The sign-in was refused.\n\n"+
				"If you did not copy this key, remove it from your account and change your password: %s/manage/account/webauthn/\n",
				"Yubi", "alice", "192.0.2.1", 3, 7, base) + notYou},
	{"key-renamed", Data{"Username": "alice", "Old": "Yubi", "New": "Blue"},
		"Security key renamed", "Hello alice,\n\n" +
			fmt.Sprintf("Your security key %q was renamed %q.\n", "Yubi", "Blue") + notYou},
	{"key-removed", Data{"Username": "alice", "Label": "Yubi"},
		"Two-factor method removed: security key", "Hello alice,\n\n" +
			fmt.Sprintf("The security key named %q was removed from your account.\n", "Yubi") + notYou},
	{"giveaway-claimed", Data{"Username": "alice", "Keys": 2, "Country": "Spain"},
		"Your security-key code", fmt.Sprintf("Hello %s,\n\nYou claimed a code of the security-key giveaway, good for %d security keys shipped to %s.\n"+
			"Your code and how to redeem it are on %s/manage/account/security-keys-giveaway/\n\n"+
			"If this was not you, change your password and tell the administrators of the index.\n",
			"alice", 2, "Spain", base)},
	{"critical-project", Data{"Username": "alice", "Project": "Cheese", "ARole": "an Owner", "Percent": 1.5, "WindowDays": 90,
		"Grace": true, "Start": t0, "TwoFactor": false, "SetupURL": base + "/manage/account/two-factor/", "Normalized": "cheese"},
		"Cheese is now a critical project", "Hello alice,\n\n" +
			fmt.Sprintf("%s, of which you are a%s %s, is now a critical project of %s: it is one of the top %g%% of projects by downloads over the last %d days. It stays critical from now on.\n\n",
				"Cheese", "n", "Owner", base, 1.5, 90) +
			"From 2025-03-08 12:30 UTC, every owner and maintainer needs two-factor authentication to upload to it, yank or delete releases, change its collaborators or settings, or create an API token for it. Downloads and installs are not affected.\n\n" +
			"You have not set up two-factor authentication yet. Set up an authenticator app or a security key at " + base + "/manage/account/two-factor/ before then.\n" +
			"\nThe project: " + base + "/project/cheese/\n"},
	{"critical-project", Data{"Username": "bob", "Project": "Cheese", "ARole": "a Maintainer", "Percent": 1.0, "WindowDays": 30,
		"Grace": false, "Start": t0, "TwoFactor": true, "SetupURL": "", "Normalized": "cheese"},
		"Cheese is now a critical project", "Hello bob,\n\n" +
			"Cheese, of which you are a Maintainer, is now a critical project of " + base + ": it is one of the top 1% of projects by downloads over the last 30 days. It stays critical from now on.\n\n" +
			"From now on, every owner and maintainer needs two-factor authentication to upload to it, yank or delete releases, change its collaborators or settings, or create an API token for it. Downloads and installs are not affected.\n\n" +
			"You already have two-factor authentication: nothing to do.\n" +
			"\nThe project: " + base + "/project/cheese/\n"},
	{"token-created", Data{"Username": "alice", "By": "", "IP": "192.0.2.1", "Name": "ci", "Prefix": "pypi-AbC",
		"Projects": "all your projects", "Permission": "upload", "Expires": "never"},
		"API token created: ci", fmt.Sprintf("Hello %s,\n\nAn API token was created for your account %s:\n\n"+
			"  name:        %s\n  token:       %s…\n  projects:    %s\n  permission:  %s\n  expires:     %s\n\n"+
			"If you did not create it, revoke it at once at %s/manage/account/tokens/, change your password, "+
			"and check your account's security history.\n",
			"alice", "from 192.0.2.1", "ci", "pypi-AbC", "all your projects", "upload", "never", base)},
	{"token-created", Data{"Username": "alice", "By": "administrator", "IP": "192.0.2.1", "Name": "ci", "Prefix": "pypi-AbC",
		"Projects": "cheese", "Permission": "upload", "Expires": "2025-04-01T00:00:00Z"},
		"API token created: ci", fmt.Sprintf("Hello %s,\n\nAn API token was created for your account %s:\n\n"+
			"  name:        %s\n  token:       %s…\n  projects:    %s\n  permission:  %s\n  expires:     %s\n\n"+
			"If you did not create it, revoke it at once at %s/manage/account/tokens/, change your password, "+
			"and check your account's security history.\n",
			"alice", "by an administrator of the index", "ci", "pypi-AbC", "cheese", "upload", "2025-04-01T00:00:00Z", base)},
	{"project-status", Data{"Username": "alice", "Project": "Cheese", "Normalized": "cheese", "Status": "quarantined",
		"Reason": "malware in setup.py", "By": "carol", "Released": false},
		"Cheese is quarantined", "Hello alice,\n\nThe administrators of " + base + " quarantined Cheese, of which you are an Owner, for this reason:\n\n    malware in setup.py\n\n" +
			"While it is quarantined, none of its files is served (installers cannot find them), no upload is accepted and nothing in it can change. " +
			"Nothing is deleted: the administrators can release it, and it is then as it was. If you think this is a mistake, reply to the administrators of " + base + ".\n" + "\nThe project: " + base + "/project/cheese/\n-- \ncheeseshop, " + base + "/\n"},
	{"project-reported", reportedData(false), "Project reported: reqests (malware)", fmt.Sprintf(
		"Hello alice,\n\nmallory reported the project reqests on %[1]s as malware:\n\nsetup.py runs <script>\n\n"+
			"Review the reports: quarantine the project or dismiss them.\n\n"+
			"Reports: %[1]s/admin/reports/\nThe project: %[1]s/project/reqests/\n"+
			"Or on the command line: cheeseshop admin reports list, cheeseshop admin reports dismiss reqests.", base) + signature},
	{"project-reported", reportedData(true), "Quarantined on reports: reqests", fmt.Sprintf(
		"Hello alice,\n\nmallory reported the project reqests on %[1]s as malware:\n\nsetup.py runs <script>\n\n"+
			"With this report, enough trusted users reported it within a day: reqests is quarantined automatically (none of its files is served, nothing in it can change), and its Owners were told. Review the reports and release it if they are wrong.\n\n"+
			"Reports: %[1]s/admin/reports/\nThe project: %[1]s/project/reqests/\n"+
			"Or on the command line: cheeseshop admin reports list, cheeseshop admin reports dismiss reqests.", base) + signature},
	{"project-status", Data{"Username": "alice", "Project": "Cheese", "Normalized": "cheese", "Status": "archived",
		"Reason": "", "By": "an administrator at the command line", "Released": true},
		"Cheese is released from quarantine", "Hello alice,\n\nThe administrators of " + base + " released Cheese, of which you are an Owner, from quarantine. Its files are served again, and it is archived as it was before.\n" + "\nThe project: " + base + "/project/cheese/\n-- \ncheeseshop, " + base + "/\n"},
	{"project-status", Data{"Username": "alice", "Project": "Cheese", "Normalized": "cheese", "Status": "archived",
		"Reason": "no longer maintained", "By": "bob", "Released": false},
		"Cheese is now archived", "Hello alice,\n\nbob archived Cheese, of which you are an Owner: no longer maintained. It accepts no new uploads; its files are still served and installs keep working. " +
			"An Owner can unarchive it on its settings page.\n" + "\nIf you did not make this change, contact the administrators of " + base + " at once.\n" + "\nThe project: " + base + "/project/cheese/\n-- \ncheeseshop, " + base + "/\n"},
	{"project-status", Data{"Username": "alice", "Project": "Cheese", "Normalized": "cheese", "Status": "deprecated",
		"Reason": "use gouda", "By": "bob", "Released": false},
		"Cheese is now deprecated", "Hello alice,\n\nbob marked Cheese, of which you are an Owner, as deprecated: use gouda. Installers may warn its users; uploads and installs work as before.\n" + "\nIf you did not make this change, contact the administrators of " + base + " at once.\n" + "\nThe project: " + base + "/project/cheese/\n-- \ncheeseshop, " + base + "/\n"},
	{"project-status", Data{"Username": "alice", "Project": "Cheese", "Normalized": "cheese", "Status": "active",
		"Reason": "", "By": "bob", "Released": false},
		"Cheese is active again", "Hello alice,\n\nbob made Cheese, of which you are an Owner, active again: it accepts uploads, as before.\n" + "\nIf you did not make this change, contact the administrators of " + base + " at once.\n" + "\nThe project: " + base + "/project/cheese/\n-- \ncheeseshop, " + base + "/\n"},
	{"token-revoked", Data{"Username": "alice", "Name": "ci", "Prefix": "pypi-AbC", "IP": "192.0.2.1"},
		"API token revoked: ci", fmt.Sprintf("Hello %s,\n\nThe API token %q (%s…) of your account was revoked from %s: it no longer works.\n\n"+
			"If you did not revoke it, change your password at once at %s/manage/account/, sign out your other sessions, "+
			"and check your account's security history.\n", "alice", "ci", "pypi-AbC", "192.0.2.1", base)},
}

// TestEmailsReadAsBefore renders every email with sample data: each has a
// subject, uses no key its data lacks, and reads byte for byte as the
// text its package used to write.
func TestEmailsReadAsBefore(t *testing.T) {
	for _, e := range emails {
		t.Run(e.name, func(t *testing.T) {
			m, err := render(e.name, base, e.data)
			if err != nil {
				t.Fatal(err)
			}
			if m.Subject != e.subject {
				t.Errorf("subject %q, want %q", m.Subject, e.subject)
			}
			if m.Text != e.text {
				t.Errorf("text:\n%s\nwant:\n%s", m.Text, e.text)
			}
		})
	}
}

// TestEveryEmailRendered: every template file is among the samples, so a
// new email is checked too.
func TestEveryEmailRendered(t *testing.T) {
	sampled := map[string]bool{}
	for _, e := range emails {
		sampled[e.name] = true
	}
	files, err := fs.Glob(templateFiles, "templates/*.txt")
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		name := strings.TrimSuffix(strings.TrimPrefix(f, "templates/"), ".txt")
		if name != "parts" && !sampled[name] {
			t.Errorf("email %s has no sample in TestEmailsReadAsBefore", name)
		}
	}
}

// TestRenderMissingKey: a key the data lacks fails the email instead of
// writing "<no value>".
func TestRenderMissingKey(t *testing.T) {
	if _, err := render("verify-email", base, Data{"Username": "alice"}); err == nil {
		t.Error("rendered verify-email without its link")
	}
	if _, err := render("no-such-email", base, nil); err == nil {
		t.Error("rendered an email that does not exist")
	}
}

// recorder is a Mailer keeping what it is given, or failing with err.
type recorder struct {
	got []Message
	err error
}

func (r *recorder) Send(_ context.Context, m Message) error {
	r.got = append(r.got, m)
	return r.err
}

func TestSenderSend(t *testing.T) {
	ctx := context.Background()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	r := &recorder{}
	s := &Sender{Mailer: r, BaseURL: base, Log: log}
	if err := s.Send(ctx, "alice@example.org", "totp-added", Data{"Username": "alice"}); err != nil {
		t.Fatal(err)
	}
	if len(r.got) != 1 || r.got[0].To != "alice@example.org" || r.got[0].Subject != "Two-factor method added: authenticator app" {
		t.Fatalf("sent %+v", r.got)
	}
	r.err = fmt.Errorf("refused")
	if err := s.Send(ctx, "alice@example.org", "totp-added", Data{"Username": "alice"}); err == nil {
		t.Error("a failure to send was not returned")
	}
	none := &Sender{BaseURL: base, Log: log}
	if err := none.Send(ctx, "alice@example.org", "totp-added", Data{"Username": "alice"}); err != nil {
		t.Errorf("without a mailer: %v", err)
	}
}
