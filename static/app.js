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
