// Passkeys (WebAuthn) for the holder's pages: sign-in, second factor, step-up, adding one.
// A form marked data-passkey="get" or "create" stays hidden unless the browser supports
// WebAuthn. Its options come from data-passkey-json (with data-passkey-challenge), or are
// fetched by posting the form's own fields (CSRF token included) to data-passkey-options;
// the browser's answer goes into the hidden passkey_challenge and credential fields and the
// form is then submitted normally, so the server answers with a page or a redirect.
// No inline script anywhere: the Content-Security-Policy allows scripts from this site only.
"use strict";
(function () {
  function toBuffer(text) {
    var base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    while (base64.length % 4) {
      base64 += "=";
    }
    var raw = atob(base64);
    var bytes = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i += 1) {
      bytes[i] = raw.charCodeAt(i);
    }
    return bytes.buffer;
  }

  function toText(buffer) {
    if (!buffer) {
      return null;
    }
    var bytes = new Uint8Array(buffer);
    var raw = "";
    for (var i = 0; i < bytes.length; i += 1) {
      raw += String.fromCharCode(bytes[i]);
    }
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function descriptors(list) {
    return (list || []).map(function (item) {
      var copy = Object.assign({}, item);
      copy.id = toBuffer(item.id);
      return copy;
    });
  }

  function creationOptions(options) {
    var copy = Object.assign({}, options);
    copy.challenge = toBuffer(options.challenge);
    copy.user = Object.assign({}, options.user, { id: toBuffer(options.user.id) });
    copy.excludeCredentials = descriptors(options.excludeCredentials);
    return copy;
  }

  function requestOptions(options) {
    var copy = Object.assign({}, options);
    copy.challenge = toBuffer(options.challenge);
    copy.allowCredentials = descriptors(options.allowCredentials);
    return copy;
  }

  function asJson(credential) {
    var response = credential.response;
    var out = {
      id: credential.id,
      rawId: toText(credential.rawId),
      type: credential.type,
      response: { clientDataJSON: toText(response.clientDataJSON) },
      clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || null
    };
    if (response.attestationObject) {
      out.response.attestationObject = toText(response.attestationObject);
      out.response.transports = response.getTransports ? response.getTransports() : [];
    } else {
      out.response.authenticatorData = toText(response.authenticatorData);
      out.response.signature = toText(response.signature);
      out.response.userHandle = toText(response.userHandle);
    }
    return out;
  }

  function options(form) {
    if (form.dataset.passkeyJson) {
      return Promise.resolve({
        challenge_id: form.dataset.passkeyChallenge,
        options: JSON.parse(form.dataset.passkeyJson)
      });
    }
    return fetch(form.dataset.passkeyOptions, {
      method: "POST", body: new FormData(form), credentials: "same-origin",
      headers: { Accept: "application/json" }
    }).then(function (answer) {
      if (!answer.ok) {
        throw new Error("options refused: " + answer.status);
      }
      return answer.json();
    });
  }

  function show(form, message) {
    var box = form.querySelector("[data-passkey-error]");
    if (box) {
      box.textContent = message;
      box.hidden = false;
    }
  }

  function run(form, button) {
    var creating = form.dataset.passkey === "create";
    button.disabled = true;
    options(form).then(function (found) {
      form.elements.passkey_challenge.value = found.challenge_id;
      var publicKey = creating ? creationOptions(found.options) : requestOptions(found.options);
      var asked = creating
        ? navigator.credentials.create({ publicKey: publicKey })
        : navigator.credentials.get({ publicKey: publicKey });
      return asked;
    }).then(function (credential) {
      if (!credential) {
        throw new Error("no credential");
      }
      form.elements.credential.value = JSON.stringify(asJson(credential));
      form.submit();
    }).catch(function (error) {
      button.disabled = false;
      var cancelled = error && error.name === "NotAllowedError";
      show(form, cancelled ? form.dataset.cancelledText : form.dataset.errorText);
    });
  }

  function start() {
    var forms = document.querySelectorAll("form[data-passkey]");
    var supported = window.PublicKeyCredential && navigator.credentials;
    Array.prototype.forEach.call(forms, function (form) {
      if (!supported) {
        return;  // stays hidden: the other ways to sign in are on the page
      }
      form.hidden = false;
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        run(form, form.querySelector("button[type=submit]"));
      });
    });
    var extras = document.querySelectorAll("[data-passkey-or]");
    Array.prototype.forEach.call(extras, function (note) {
      note.hidden = !supported;
    });
    var fallbacks = document.querySelectorAll("[data-passkey-unsupported]");
    Array.prototype.forEach.call(fallbacks, function (note) {
      note.hidden = Boolean(supported);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
