// Sign in with a passkey, on the login page. The button
// [data-passkey="button"] carries the endpoints (data-options,
// data-verify), the form token (data-csrf, sent in X-CSRF-Token) and
// where to go once signed in (data-next); [data-passkey="status"] shows
// what happens.
//
// On load, when the browser can offer passkeys in the username field's
// autofill (conditional mediation; the field has autocomplete="username
// webauthn"), the options are fetched and navigator.credentials.get waits,
// with mediation "conditional", until the user picks a passkey there;
// fresh options replace them before their 5 minutes run out. A click on
// the button aborts that request and runs a modal one. Either way the
// answer is posted as {next, credential: credential.toJSON()} to
// data-verify, which answers {"redirect"} or {"message"}.
(function () {
  "use strict";

  var REFRESH_MS = 4 * 60 * 1000; // before the challenge's 5 minutes end

  var button, status;
  var waiting = null; // the conditional request: {controller, done}
  var refresh = 0;

  function show(text, isError) {
    if (!status) return;
    status.textContent = text;
    status.classList.toggle("error-message", !!isError);
    status.setAttribute("role", isError ? "alert" : "status");
  }

  function post(url, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": button.getAttribute("data-csrf") || "" },
      body: JSON.stringify(body || {}),
    }).then(function (resp) {
      var type = resp.headers.get("Content-Type") || "";
      if (type.indexOf("application/json") !== 0) {
        var e = new Error(resp.status === 403
          ? "This page has expired. Reload it and try again."
          : "The server answered " + resp.status + ". Reload the page and try again.");
        e.server = true;
        throw e;
      }
      return resp.json().then(function (data) {
        if (!resp.ok) {
          var e = new Error(data.message || "Refused (" + resp.status + ").");
          e.server = true;
          throw e;
        }
        return data;
      });
    });
  }

  // browserMessage explains a refusal of navigator.credentials.get.
  function browserMessage(err) {
    switch (err && err.name) {
      case "NotAllowedError":
        return "No passkey was chosen, or the request was cancelled or timed out. Try again, or log in with your username and password.";
      case "SecurityError":
        return "Your browser refused to use passkeys on this address. Open the site at its configured address (HTTPS).";
      case "NotSupportedError":
        return "Your browser does not support passkeys. Log in with your username and password.";
    }
    return "The passkey could not be used: " + (err && err.message ? err.message : err);
  }

  function options() {
    return post(button.getAttribute("data-options")).then(function (json) {
      return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    });
  }

  function verify(credential) {
    if (!credential) throw new Error("no passkey was chosen");
    show("Checking…", false);
    return post(button.getAttribute("data-verify"), { next: button.getAttribute("data-next") || "", credential: credential.toJSON() })
      .then(function (data) {
        show("Signed in.", false);
        window.location.assign(data.redirect || "/");
      });
  }

  // conditional waits for a passkey chosen in the username field's
  // autofill. Its own failures to start (too many requests from this
  // address, say) stay quiet: the page works without it.
  function conditional() {
    var controller = new AbortController();
    var current = { controller: controller };
    waiting = current;
    current.done = options()
      .then(function (publicKey) {
        if (controller.signal.aborted) return null;
        refresh = window.setTimeout(function () {
          if (waiting === current) {
            controller.abort();
            current.done.then(conditional);
          }
        }, REFRESH_MS);
        return navigator.credentials.get({ mediation: "conditional", signal: controller.signal, publicKey: publicKey })
          .then(function (credential) {
            window.clearTimeout(refresh);
            return verify(credential);
          });
      })
      .catch(function (err) {
        window.clearTimeout(refresh);
        if (controller.signal.aborted || (err && err.name === "AbortError")) return; // replaced
        if (err && (err.server || err.name !== "NotAllowedError")) show(err.server ? err.message : browserMessage(err), true);
      });
  }

  // modal runs the button's request, once the conditional one is over.
  function modal() {
    var before = Promise.resolve();
    if (waiting) {
      window.clearTimeout(refresh);
      waiting.controller.abort();
      before = waiting.done;
      waiting = null;
    }
    button.disabled = true;
    show("Choose your passkey and unlock it…", false);
    before
      .then(options)
      .then(function (publicKey) { return navigator.credentials.get({ publicKey: publicKey }); })
      .then(verify)
      .catch(function (err) {
        button.disabled = false;
        show(err && err.server ? err.message : browserMessage(err), true);
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    button = document.querySelector('[data-passkey="button"]');
    status = document.querySelector('[data-passkey="status"]');
    if (!button) return;
    if (!window.PublicKeyCredential || !PublicKeyCredential.parseRequestOptionsFromJSON) {
      button.disabled = true;
      show("This browser does not support passkeys. Log in with your username and password.", false);
      return;
    }
    button.addEventListener("click", function (ev) {
      ev.preventDefault();
      modal();
    });
    if (typeof PublicKeyCredential.isConditionalMediationAvailable === "function") {
      PublicKeyCredential.isConditionalMediationAvailable().then(function (available) {
        if (available && !button.disabled && !waiting) conditional();
      }).catch(function () {});
    }
  });
})();
