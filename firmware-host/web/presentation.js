// The presentation panel of the chair and technician consoles: every source the room can
// present (`presentation_sources`), each shown on the hall, the stream or both with one
// press, a stop button, and what is presented now, live from the floor.

import { h, replaceKeepingFocus, t } from './common.js';

const SCREENS = ['hall', 'stream', 'both'];

export class PresentationPanel {
  /** `send(body)`: sends a command and reports its outcome, as the console does. */
  constructor(root, send) {
    this.send = send;
    this.now = h('p', { class: 'presentation-now', role: 'status' });
    this.list = h('ul', { class: 'presentation-sources' });
    this.empty = h('p', { class: 'muted' });
    root.replaceChildren(this.now, this.list, this.empty);
  }

  render(snap) {
    const sources = snap.presentation_sources || [];
    const shown = snap.floor.presentation || null;
    const labelOf = (name) => sources.find((s) => s.name === name)?.label ?? name;
    const now = shown
      ? t('presentation.now', {
        source: labelOf(shown.source),
        where: t(`presentation.where.${shown.on}`),
        time: new Date(shown.since.unix_ms).toLocaleTimeString(document.documentElement.lang, { hour: '2-digit', minute: '2-digit' }),
      })
      : t('presentation.none');
    // In the non-public part the stream shows its neutral source, whatever is presented.
    const held = shown && shown.on !== 'hall' && !snap.floor.public ? ` ${t('presentation.not_streamed')}` : '';
    const line = `${now}${held}`;
    if (this.now.textContent !== line) this.now.textContent = line;
    this.now.dataset.on = shown ? shown.on : 'none';

    const focused = this.list.contains(document.activeElement) ? document.activeElement.dataset.focus : null;
    replaceKeepingFocus(this.list, sources.map((s, i) => {
      const active = shown?.source === s.name;
      const id = `presentation-source-${i}`;
      return h('li', { dataset: { source: s.name, presented: active ? shown.on : 'no' } },
        h('span', { class: 'presentation-label', id }, s.label),
        h('span', { class: 'presentation-on', role: 'group', 'aria-labelledby': id },
          SCREENS.map((on) => {
            const pressed = active && shown.on === on;
            return h('button', {
              type: 'button', class: pressed ? 'small primary' : 'small', 'aria-pressed': String(pressed),
              'aria-label': t('presentation.aria.on', { source: s.label, where: t(`presentation.where.${on}`) }),
              dataset: { focus: `present-${on}:${s.name}`, on },
              onclick: () => this.send({ command: 'present', source: s.name, on }),
            }, t(`presentation.on.${on}`));
          })),
        h('button', {
          type: 'button', class: 'small danger', disabled: !active,
          'aria-label': t('presentation.aria.stop', { source: s.label }), dataset: { focus: `stop:${s.name}` },
          onclick: () => this.send({ command: 'stop_presenting' }),
        }, t('btn.stop')));
    }));
    // Stopped with the keyboard: the stop button is disabled now, so stay on its source.
    if (focused && !this.list.contains(document.activeElement)) {
      const source = focused.split(/:(.*)/s)[1];
      this.list.querySelector(`[data-focus="${CSS.escape(`present-hall:${source}`)}"]`)?.focus();
    }
    this.empty.textContent = t('presentation.no_sources');
    this.empty.hidden = sources.length > 0;
  }
}
