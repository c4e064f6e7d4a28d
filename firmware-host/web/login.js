// The login page: posts name and password, then goes where the visitor wanted to go.

import { api, errorText, initLanguage, say, t, whoami } from './common.js';

/** Where the visitor wanted to go; the server answers with where to go, which is only
 *  ever a path on this site (no open redirect; see `login_target` in api/pages.rs). */
const next = new URLSearchParams(location.search).get('next');

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
  const body = next === null ? { user, password } : { user, password, next };
  const r = await api('/api/v1/login', { method: 'POST', body });
  submit.disabled = false;
  submit.textContent = t('login.submit');
  if (r.ok) {
    location.assign(r.data?.next || '/');
  } else {
    say(error, errorText(r), 'error');
    form.password.value = '';
    form.password.focus();
  }
});
