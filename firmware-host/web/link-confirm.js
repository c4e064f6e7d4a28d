// Asks before a member's personal link replaces a chair or technician login. Nothing is
// replaced unless the button is pressed: then the link is confirmed with a POST (which a
// cross-site page cannot send with our CSRF header) and the member's page opens.

const replace = document.getElementById('replace');
const error = document.getElementById('error');

replace.addEventListener('click', async () => {
  replace.disabled = true;
  const r = await fetch(location.pathname, {
    method: 'POST',
    headers: { 'X-Podium-Csrf': '1' },
    credentials: 'same-origin',
  });
  if (r.ok) {
    location.reload();
    return;
  }
  replace.disabled = false;
  error.hidden = false;
  error.textContent = r.status === 429
    ? 'Zu viele Versuche – bitte später erneut. / Too many attempts – please try again later.'
    : 'Der Link konnte nicht geöffnet werden. / The link could not be opened.';
});
