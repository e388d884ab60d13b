// Security keys (WebAuthn). A button with data-webauthn="register",
// "register-passkey", "upgrade-passkey", "login" or "reauth" runs a
// ceremony when clicked:
//   1. POST data-options (with the form token data-csrf in X-CSRF-Token)
//      for the options, as PublicKeyCredential*OptionsJSON;
//   2. navigator.credentials.create (register, register-passkey,
//      upgrade-passkey) or .get (login, reauth);
//   3. POST {label, next, credential: credential.toJSON()} to data-verify;
//   4. follow {"redirect"}, or show {"message"} in the element that
//      data-status names (by CSS selector), else the .webauthn-status
//      element of the button's section.
// data-label names (by CSS selector) the input holding the new key's
// name; data-next is where to go once done.
(function () {
  "use strict";

  function statusFor(button) {
    var sel = button.getAttribute("data-status");
    if (sel && document.querySelector(sel)) return document.querySelector(sel);
    var scope = button.closest("section") || document;
    return scope.querySelector(".webauthn-status");
  }

  function show(button, text, isError) {
    var el = statusFor(button);
    if (!el) {
      if (isError) alert(text);
      return;
    }
    el.textContent = text;
    el.classList.toggle("error-message", !!isError);
    el.setAttribute("role", isError ? "alert" : "status");
  }

  function post(url, csrf, body) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRF-Token": csrf },
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
          if (data.redirect && ((resp.status === 401 && !data.message) || data.reauth)) {
            // Signed out, or the change needs a fresh re-authentication.
            window.location.assign(data.redirect);
          }
          var e = new Error(data.message || "Refused (" + resp.status + ").");
          e.server = true;
          throw e;
        }
        return data;
      });
    });
  }

  // browserMessage explains a refusal of navigator.credentials (kind is
  // the button's data-webauthn).
  function browserMessage(err, kind) {
    switch (err && err.name) {
      case "NotAllowedError":
        return "The security key did not answer, or the request was cancelled. Try again.";
      case "InvalidStateError":
        if (kind === "register-passkey") {
          return "This authenticator already holds one of your security keys. To make that key a passkey, use \u201cMake it a passkey\u201d beside it.";
        }
        return "This security key is already registered on your account.";
      case "SecurityError":
        return "Your browser refused to use security keys on this address. Open the site at its configured address (HTTPS).";
      case "NotSupportedError":
        return "Your browser or key does not support this kind of security key.";
    }
    return "The security key could not be used: " + (err && err.message ? err.message : err);
  }

  function run(button) {
    var kind = button.getAttribute("data-webauthn");
    var csrf = button.getAttribute("data-csrf") || "";
    var body = { next: button.getAttribute("data-next") || "" };
    var creating = kind === "register" || kind === "register-passkey" || kind === "upgrade-passkey";
    var passkey = kind === "register-passkey" || kind === "upgrade-passkey";
    if (kind === "register" || kind === "register-passkey") {
      var input = document.querySelector(button.getAttribute("data-label") || "#key-label");
      body.label = input ? input.value.trim() : "";
      if (!body.label) {
        show(button, passkey ? "Give the passkey a name first." : "Give the security key a name first.", true);
        if (input) input.focus();
        return;
      }
    }
    if (!window.PublicKeyCredential || !PublicKeyCredential.parseCreationOptionsFromJSON) {
      show(button, "This browser does not support security keys. Use a recent Chrome, Edge, Firefox or Safari, or another method.", true);
      return;
    }
    button.disabled = true;
    show(button, passkey ? "Unlock your authenticator (PIN, fingerprint or face) to make the passkey…" :
      kind === "register" ? "Touch your new security key…" : "Touch your security key…", false);
    post(button.getAttribute("data-options"), csrf, body)
      .then(function (options) {
        if (creating) {
          return navigator.credentials.create({ publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options) });
        }
        return navigator.credentials.get({ publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options) });
      })
      .then(function (credential) {
        if (!credential) throw new Error("no credential");
        show(button, "Checking…", false);
        body.credential = credential.toJSON();
        return post(button.getAttribute("data-verify"), csrf, body);
      })
      .then(function (data) {
        show(button, "Done.", false);
        window.location.assign(data.redirect || "/");
      })
      .catch(function (err) {
        button.disabled = false;
        show(button, err && err.server ? err.message : browserMessage(err, kind), true);
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-webauthn]").forEach(function (button) {
      button.addEventListener("click", function (ev) {
        ev.preventDefault();
        run(button);
      });
    });
  });
})();
