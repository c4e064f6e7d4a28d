// The login page: posts name and password, then goes where the visitor wanted to go.

import { api, errorText, initLanguage, say, t, whoami } from './common.js';

/** Only same-site paths are followed after login (no open redirect). */
function target(role) {
  const next = new URLSearchParams(location.search).get('next');
  if (next && next.startsWith('/') && !next.startsWith('//') && !next.includes('\\')) return next;
  return { chair: '/chair', technician: '/tech', viewer: '/display' }[role] || '/';
}

initLanguage();
const form = document.getElementById('login');
const error = document.getElementById('error');
const submit = document.getElementById('submit');

whoami().then((me) => {
  document.getElementById('room').textContent = me.room_name ? `· ${me.room_name}` : '';
});

form.addEventListener('submit', async (e) => {
  e.preventDefault();
  say(error, '');
  const user = form.user.value.trim();
  const password = form.password.value;
  if (!user || !password) {
    say(error, t('error.invalid_credentials'), 'error');
    (user ? form.password : form.user).focus();
    return;
  }
  submit.disabled = true;
  submit.textContent = t('login.busy');
  const r = await api('/api/v1/login', { method: 'POST', body: { user, password } });
  submit.disabled = false;
  submit.textContent = t('login.submit');
  if (r.ok) {
    location.assign(target(r.data?.role));
  } else {
    say(error, errorText(r), 'error');
    form.password.value = '';
    form.password.focus();
  }
});
