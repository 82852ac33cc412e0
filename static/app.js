// Progressive enhancement only: every page works without this file.
// Sends the current CSRF token with every htmx request (the token changes when the session rotates).
document.addEventListener('htmx:configRequest', (event) => {
  const holder = document.getElementById('csrf-token');
  if (holder && holder.dataset.token) event.detail.headers['x-csrf-token'] = holder.dataset.token;
});

// Copy buttons: <button data-copy="#element-id">.
document.addEventListener('click', async (event) => {
  const button = event.target.closest('[data-copy]');
  if (!button) return;
  const source = document.querySelector(button.dataset.copy);
  if (!source) return;
  try {
    await navigator.clipboard.writeText(source.value ?? source.textContent.trim());
    const label = button.textContent;
    button.textContent = 'Copied';
    setTimeout(() => { button.textContent = label; }, 1500);
  } catch {
    button.textContent = 'Select and copy by hand';
  }
});

// Print buttons: <button type="button" data-print> (backup codes are printed from their one-time page).
document.addEventListener('click', (event) => {
  if (event.target.closest('[data-print]')) window.print();
});

// "All" toggles (the server also honours all=1 on submit, so this is only a convenience):
// <input type="checkbox" data-check-all> ticks or unticks every [data-check-item] in its form,
// and unticking one item unticks "All".
document.addEventListener('change', (event) => {
  const box = event.target;
  if (!(box instanceof HTMLInputElement) || !box.form) return;
  if (box.hasAttribute('data-check-all')) {
    for (const item of box.form.querySelectorAll('[data-check-item]')) item.checked = box.checked;
  } else if (box.hasAttribute('data-check-item')) {
    const all = box.form.querySelector('[data-check-all]');
    if (all) all.checked = [...box.form.querySelectorAll('[data-check-item]')].every((item) => item.checked);
  }
});

// Error summaries (issue 15 §10, GOV.UK pattern): focus the summary when a page or an htmx swap
// shows one, so screen readers announce it; its links move focus to their field, not just scroll.
function focusErrorSummary(root) {
  const summary = (root || document).querySelector('[data-error-summary][data-focus]');
  if (summary) summary.focus();
}
document.addEventListener('DOMContentLoaded', () => focusErrorSummary());
document.addEventListener('htmx:afterSettle', (event) => focusErrorSummary(event.target));
document.addEventListener('click', (event) => {
  const link = event.target.closest('[data-error-summary] a[href^="#"]');
  if (!link) return;
  const field = document.getElementById(link.getAttribute('href').slice(1));
  if (!field) return;
  event.preventDefault();
  field.scrollIntoView({ block: 'center' });
  field.focus();
});
