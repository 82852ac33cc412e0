// WebAuthn ceremonies in the portal (security keys and passkeys): enrolment and the second factor.
// Any <form data-webauthn="register|authenticate"> with data-options-url and data-verify-url:
// on submit, fetch the options (JSON, CSRF header), run the browser ceremony with
// SimpleWebAuthnBrowser (served from /static/vendor), post the answer, then go where the server says.
// Loaded by the pages that offer a key; htmx may run it again after a boosted navigation, so it
// installs its listener once. Errors show in the form's [data-webauthn-error] box.
(() => {
  if (window.mfaWebauthnReady) return;
  window.mfaWebauthnReady = true;

  const MESSAGES = {
    unsupported: 'This browser cannot use security keys or passkeys. Try another browser, or use another type of token.',
    cancelled: 'The security key request was cancelled or timed out. Try again when you are ready.',
    registered: 'This security key is already registered. Use another key.',
    domain: 'Your browser refused to use a security key at this address. Open the portal from its usual address.',
    failed: 'Your browser could not use the security key. Try again, or use another key.',
    network: 'We could not reach the server. Check your connection and try again.',
  };

  const csrfToken = () => document.getElementById('csrf-token')?.dataset.token ?? '';

  async function postJson(url, body) {
    let res;
    try {
      res = await fetch(url, {
        method: 'POST',
        credentials: 'same-origin',
        headers: { 'content-type': 'application/json', accept: 'application/json', 'x-csrf-token': csrfToken() },
        body: JSON.stringify(body ?? {}),
      });
    } catch {
      return { ok: false, status: 0, error: { message: MESSAGES.network } };
    }
    let data = null;
    try {
      data = await res.json();
    } catch {
      // Not JSON: a refusal page (for example an expired form); the status says enough.
    }
    if (res.ok) return { ok: true, status: res.status, data };
    const error = data?.error ?? { message: res.status === 403 ? 'This request was refused. Reload the page and try again.' : `Something went wrong (${res.status}). Reload the page and try again.` };
    return { ok: false, status: res.status, error };
  }

  /** Words for the browser's refusal (SimpleWebAuthnBrowser's WebAuthnError codes, else the DOMException name). */
  function explain(err) {
    const code = err?.code;
    const name = err?.name;
    if (code === 'ERROR_AUTHENTICATOR_PREVIOUSLY_REGISTERED' || name === 'InvalidStateError') return MESSAGES.registered;
    if (code === 'ERROR_CEREMONY_ABORTED' || name === 'NotAllowedError' || name === 'AbortError') return MESSAGES.cancelled;
    if (code === 'ERROR_INVALID_DOMAIN' || code === 'ERROR_INVALID_RP_ID' || name === 'SecurityError') return MESSAGES.domain;
    if (name === 'NotSupportedError' || code === 'ERROR_AUTHENTICATOR_NO_SUPPORTED_PUBKEYCREDPARAMS_ALG') return MESSAGES.unsupported;
    return MESSAGES.failed;
  }

  function ui(form) {
    const box = form.closest('.card') ?? form.parentElement;
    const errorBox = box.querySelector('[data-webauthn-error]');
    const statusBox = box.querySelector('[data-webauthn-status]');
    const button = form.querySelector('button[type="submit"]');
    return {
      busy(text) {
        if (errorBox) errorBox.hidden = true;
        if (statusBox) statusBox.textContent = text;
        if (button) button.disabled = true;
      },
      fail(message) {
        if (statusBox) statusBox.textContent = '';
        if (button) button.disabled = false;
        if (errorBox) {
          errorBox.textContent = message;
          errorBox.hidden = false;
          errorBox.focus();
        }
      },
    };
  }

  async function run(form) {
    const view = ui(form);
    const lib = window.SimpleWebAuthnBrowser;
    if (!lib || !lib.browserSupportsWebAuthn()) return view.fail(MESSAGES.unsupported);
    const register = form.dataset.webauthn === 'register';
    view.busy('Follow your browser\'s prompt: touch your security key or confirm with your screen lock.');

    const start = await postJson(form.dataset.optionsUrl, {});
    if (!start.ok) {
      if (start.error.code === 'step_up_required' && form.dataset.stepUpUrl) return window.location.assign(form.dataset.stepUpUrl);
      return view.fail(start.error.message);
    }
    let response;
    try {
      response = register ? await lib.startRegistration({ optionsJSON: start.data }) : await lib.startAuthentication({ optionsJSON: start.data });
    } catch (err) {
      return view.fail(explain(err));
    }
    view.busy(register ? 'Saving your security key…' : 'Checking your security key…');
    const body = register ? { name: form.elements.namedItem('name')?.value ?? '', response } : { response };
    const done = await postJson(form.dataset.verifyUrl, body);
    if (!done.ok) return view.fail(done.error.fields?.name ?? done.error.message);
    window.location.assign(done.data.redirect);
  }

  document.addEventListener('submit', (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.dataset.webauthn) return;
    event.preventDefault();
    run(form);
  });
})();
