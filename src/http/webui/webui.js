// SPDX-License-Identifier: MIT
// tend's status page (http/webui.c), made live: the table follows
// status.json every two seconds while the page is visible, and the
// buttons post their form with fetch, so the page never reloads. Without
// this script the page works the same by plain forms and reloads.
'use strict';

(function () {
  const POLL_MS = 2000;
  const table = document.getElementById('processes');
  const template = document.getElementById('row');
  if (table === null || template === null) return;
  const tbody = table.tBodies[0];
  const message = document.getElementById('message');
  const summary = document.getElementById('summary');
  const empty = document.getElementById('empty');
  const live = document.getElementById('live');
  let timer = null;
  let inFlight = false;
  let again = false;

  // A message from a form posted without this script is shown once: a
  // reload of the page does not show it again.
  if (location.search !== '') history.replaceState(null, '', 'index.html');

  function showMessage(text, kind) {
    message.textContent = text;
    message.className = kind;
    message.hidden = false;
  }

  function setButtons(form, running) {
    for (const b of form.querySelectorAll('button')) {
      if (b.value === 'start') b.disabled = running;
      else if (b.value === 'stop') b.disabled = !running;
      else b.disabled = false;
    }
  }

  // The row of p, made from the page's own <template> when it is new.
  function rowFor(p, rows) {
    let tr = rows.get(p.namespec);
    if (tr === undefined) {
      tr = template.content.firstElementChild.cloneNode(true);
      tr.dataset.name = p.namespec;
      const a = tr.querySelector('td.name a');
      a.textContent = p.namespec;
      a.href = 'tail.html?processname=' + encodeURIComponent(p.namespec);
      tr.querySelector('input[name="name"]').value = p.namespec;
    }
    const state = tr.querySelector('td.state span');
    state.textContent = p.statename;
    state.className = p.class;
    tr.querySelector('td.desc').textContent = p.description;
    if (!tr.classList.contains('pending')) setButtons(tr.querySelector('form'), p.running);
    return tr;
  }

  function render(data) {
    const rows = new Map();
    for (const tr of tbody.rows) rows.set(tr.dataset.name, tr);
    const seen = new Set();
    for (const p of data.processes) {
      const tr = rowFor(p, rows);
      seen.add(p.namespec);
      tbody.appendChild(tr); // in the order given: moves an existing row
    }
    for (const [name, tr] of rows) if (!seen.has(name)) tr.remove();
    summary.textContent = data.summary;
    empty.hidden = data.processes.length > 0;
  }

  function schedule() {
    clearTimeout(timer);
    timer = document.hidden ? null : setTimeout(refresh, POLL_MS);
  }

  async function refresh() {
    if (inFlight) {
      again = true;
      return;
    }
    inFlight = true;
    try {
      const r = await fetch('status.json', {cache: 'no-store', headers: {Accept: 'application/json'}});
      if (!r.ok) throw new Error('HTTP ' + r.status);
      render(await r.json());
      live.textContent = 'Live · updated ' + new Date().toLocaleTimeString() + ' · ';
      live.className = '';
    } catch (e) {
      live.textContent = 'Cannot reach tend (' + e.message + '), retrying · ';
      live.className = 'stale';
    } finally {
      inFlight = false;
    }
    if (again) {
      again = false;
      refresh();
    } else {
      schedule();
    }
  }

  document.addEventListener('visibilitychange', function () {
    if (document.hidden) clearTimeout(timer);
    else refresh();
  });

  document.addEventListener('submit', async function (ev) {
    const form = ev.target;
    const button = ev.submitter;
    if (!(form instanceof HTMLFormElement) || button == null) return;
    ev.preventDefault();
    const body = new URLSearchParams(new FormData(form));
    body.set(button.name, button.value);
    const tr = form.closest('tr');
    const what = (tr !== null ? tr.dataset.name + ': ' : '') + button.textContent.toLowerCase();
    showMessage(what + '…', 'pending');
    if (tr !== null) tr.classList.add('pending');
    for (const b of form.querySelectorAll('button')) b.disabled = true;
    try {
      // Not form.action: the buttons named "action" shadow it.
      const r = await fetch(form.getAttribute('action'), {
        method: 'POST',
        body: body,
        headers: {Accept: 'application/json'},
      });
      if (r.headers.get('Content-Type') === 'application/json') {
        const reply = await r.json();
        showMessage(reply.message, reply.ok ? 'ok' : 'error');
      } else {
        showMessage(what + ': ' + (await r.text()).trim(), 'error');
      }
    } catch (e) {
      showMessage(what + ': ' + e.message, 'error');
    } finally {
      if (tr !== null) tr.classList.remove('pending');
      else for (const b of form.querySelectorAll('button')) b.disabled = false;
      refresh();
    }
  });

  schedule();
})();
