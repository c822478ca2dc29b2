// The demo page: starts GenerateReport through the streamer's JavaScript
// client and shows its progress, result and checksum; Cancel cancels it.
// No build step: the browser loads this module and client/index.js as they are.
import { connect, StreamerError } from './client/index.js';

const $ = (id) => document.getElementById(id);
const form = $('form');
const tokenInput = $('token');
const startBtn = $('start');
const cancelBtn = $('cancel');

// A token in the page's fragment (#token=...; never sent to a server) fills the field.
const fromHash = new URLSearchParams(location.hash.slice(1)).get('token');
if (fromHash) tokenInput.value = fromHash;
else if (sessionStorage.getItem('dorm-streamer-token')) tokenInput.value = sessionStorage.getItem('dorm-streamer-token');

let client = null;
let clientToken = null;
let running = null; // {id, abort}
// The report in flight survives a reload: its id is kept for this tab, and
// the page follows it again (resume from seq 0: the bar refills, then moves on).
const RUNNING_KEY = 'dorm-streamer-running';

function setConnection(state) {
  const el = $('connection');
  el.dataset.state = state;
  el.textContent = { connecting: 'connecting…', open: 'connected', reconnecting: 'reconnecting…', closed: 'not connected' }[state] ?? state;
}

function setState(state, text = state) {
  const el = $('state');
  el.dataset.state = state;
  el.textContent = text;
}

function setProgress(percent, rows, total) {
  const p = Math.max(0, Math.min(100, percent));
  $('bar').setAttribute('aria-valuenow', String(Math.round(p)));
  $('fill').style.width = `${p}%`;
  $('percent').textContent = `${Math.round(p)} %`;
  if (rows !== undefined) $('rows-done').textContent = String(rows);
  if (total !== undefined) $('rows-total').textContent = String(total);
}

async function ensureClient(token) {
  if (client && clientToken === token && client.state !== 'closed') return client;
  if (client) client.close();
  const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/`;
  setConnection('connecting');
  client = await connect(url, { token, onStateChange: setConnection });
  clientToken = token;
  return client;
}

/** Starts GenerateReport (follow: the id of one started before a reload). */
async function run(token, rows, stepMs, follow) {
  $('result').textContent = '';
  $('checksum').textContent = '–';
  $('result-rows').textContent = '–';
  $('message').textContent = '';
  setProgress(0, 0, rows);
  setState('starting', 'starting…');
  startBtn.disabled = true;
  let c;
  try {
    c = await ensureClient(token);
  } catch (e) {
    setConnection('closed');
    setState('failed', `failed: ${e.code ?? ''} ${e.message}`);
    startBtn.disabled = false;
    sessionStorage.removeItem(RUNNING_KEY);
    return;
  }
  const abort = new AbortController();
  const opts = {
    signal: abort.signal,
    onProgress: (p) => {
      setProgress(p.percent, p.progress?.rows, rows);
      if (p.message) $('message').textContent = p.message;
    },
  };
  const req = follow ? c.follow(follow, opts) : c.request('GenerateReport', { rows, stepMs }, opts);
  running = { id: req.id, abort };
  sessionStorage.setItem(RUNNING_KEY, JSON.stringify({ id: req.id, rows }));
  $('request-id').textContent = req.id;
  setState('running', 'running');
  cancelBtn.disabled = false;
  try {
    const result = await req;
    setProgress(100, result.rows, rows);
    $('result-rows').textContent = String(result.rows);
    $('checksum').textContent = result.checksum;
    $('result').textContent = JSON.stringify(result, null, 2);
    setState('completed', 'completed');
  } catch (e) {
    if (e instanceof StreamerError && e.code === 'CANCELLED') setState('cancelled', 'cancelled');
    else setState('failed', `failed: ${e.code ?? ''} ${e.message}`);
    $('message').textContent = e.message;
  } finally {
    running = null;
    sessionStorage.removeItem(RUNNING_KEY);
    cancelBtn.disabled = true;
    startBtn.disabled = false;
  }
}

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  if (running) return;
  const token = tokenInput.value.trim();
  sessionStorage.setItem('dorm-streamer-token', token);
  run(token, Number($('rows').value), Number($('step').value), null);
});

const pending = JSON.parse(sessionStorage.getItem(RUNNING_KEY) || 'null');
if (pending && tokenInput.value) {
  $('rows').value = String(pending.rows);
  run(tokenInput.value.trim(), pending.rows, 0, pending.id);
}

cancelBtn.addEventListener('click', () => {
  if (!running) return;
  cancelBtn.disabled = true;
  setState('cancelling', 'cancelling…');
  running.abort.abort();
});
