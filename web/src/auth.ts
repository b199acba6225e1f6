// Access token: kept in localStorage ("sunkeep.token"); a prompt asks for it when the API says 401.
import { h } from './dom';

const KEY = 'sunkeep.token';
let memoryToken: string | null = null;
let pending: Promise<void> | null = null;

export function getToken(): string | null {
  try {
    return localStorage.getItem(KEY) ?? memoryToken;
  } catch {
    return memoryToken; // storage disabled: keep it for this page's life
  }
}

export function setToken(token: string): void {
  memoryToken = token;
  try {
    localStorage.setItem(KEY, token);
  } catch {
    /* storage disabled or full: the in-memory copy still works */
  }
}

/**
 * Shows the token form (once, however many requests are waiting) and resolves when a token
 * was saved. `refused`: the stored token was sent and the server said 401.
 */
export function askToken(refused: boolean): Promise<void> {
  if (!pending) {
    pending = new Promise<void>((resolve) => {
      showForm(refused, () => {
        pending = null;
        resolve();
      });
    });
  }
  return pending;
}

function showForm(refused: boolean, done: () => void): void {
  const host = document.getElementById('auth');
  if (!host) return;
  const input = h('input', {
    type: 'password', id: 'token-input', name: 'token', autocomplete: 'current-password',
    required: true, spellcheck: 'false', autocapitalize: 'off',
  });
  const form = h('form', { class: 'card token-form', 'data-testid': 'token-form', 'aria-labelledby': 'token-title' },
    h('h1', { id: 'token-title' }, 'Token needed'),
    h('p', null, 'This sunkeep server asks for the token set as [http] token in its configuration. ' +
      'It is kept in this browser, so you are asked only once.'),
    h('label', { for: 'token-input' }, 'Access token'),
    h('div', { class: 'row' }, input, h('button', { type: 'submit' }, 'Save')),
    refused ? h('p', { class: 'error', role: 'alert', 'data-testid': 'token-error' }, 'That token was refused.') : null,
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const token = input.value.trim();
    if (!token) return;
    setToken(token);
    host.replaceChildren();
    document.body.classList.remove('needs-token');
    done();
  });
  host.replaceChildren(form);
  document.body.classList.add('needs-token');
  input.focus();
}
