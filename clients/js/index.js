// The streamer's JavaScript client (docs/streamer.md is the protocol): one
// dependency-free ES module for browsers and Node 20+.
//
//   import { connect } from '@dorm/streamer-client';
//   const client = await connect('ws://127.0.0.1:8080/', { token });
//   const result = await client.request('GenerateReport', { rows: 50, stepMs: 100 },
//                                       { onProgress: (p) => console.log(p.percent) });
//
// What it does for the caller:
//   - one WebSocket, the token in the `token` query parameter (browsers cannot
//     set headers on a WebSocket);
//   - requests with ids of their own; the promise settles on the result
//     (`response` or `complete`) or rejects with a StreamerError whose `code`
//     is the protocol's error code;
//   - every message of a request is applied once and in seq order: duplicates
//     are dropped, a message that arrives early waits for the older ones, and a
//     gap that stays open is filled by `resume`;
//   - when the connection drops it reconnects with exponential backoff and
//     jitter, then sends `resume` with the last seq applied for every request
//     still running (a request it never heard of again is re-sent under the
//     same id, which never starts a second job), so no progress and no result
//     is lost or seen twice;
//   - chunked results (`result_chunk` ... `complete` or `response` with `chunked: true`) are
//     concatenated and parsed;
//   - cancel (also through an AbortSignal) and status;
//   - a request that stays silent too long is asked again with `resume`: a
//     message the server stored but could not deliver (its process died in
//     between, on Lambda nothing else notices) is never waited for forever.
//
// Node 20 has no global WebSocket: pass the `ws` package's class as the
// `WebSocket` option. Only the WHATWG WebSocket interface is used
// (addEventListener, send, close, readyState).

/** The protocol's error codes (docs/streamer.md, a closed set). */
export const PROTOCOL_ERROR_CODES = Object.freeze([
  'INVALID_MESSAGE', 'UNKNOWN_ACTION', 'INVALID_PAYLOAD', 'FORBIDDEN', 'NOT_FOUND', 'DUPLICATE_REQUEST', 'TIMEOUT',
  'CANCELLED', 'HANDLER_FAILED', 'PAYLOAD_TOO_LARGE', 'RATE_LIMITED', 'INTERNAL', 'UNAUTHORIZED',
]);

/** The client's own codes: the server never sends these. */
export const CLIENT_ERROR_CODES = Object.freeze([
  'CONNECT_FAILED', // the first connection could not be opened (refused upgrade, bad token, no server)
  'CLOSED',         // close() was called while the request was in flight
  'BAD_MESSAGE',    // the server sent something the protocol does not allow (a chunk missing, bad JSON)
]);

/** An error of a request or of the client; `code` is one of the codes above. */
export class StreamerError extends Error {
  constructor(code, message, { retryable = false, requestId, seq, cause } = {}) {
    super(message || code, cause === undefined ? undefined : { cause });
    this.name = 'StreamerError';
    this.code = code;
    this.retryable = retryable;
    if (requestId !== undefined) this.requestId = requestId;
    if (seq !== undefined) this.seq = seq;
  }
}

const ID_RE = /^[A-Za-z0-9._:-]{1,128}$/;
const OPEN = 1;
// The server's bounds on a client message (docs/streamer.md, "Client messages"):
// a frame it cannot read is answered with an error that names no request, which
// would leave the request waiting for ever; such a payload is refused here.
const MAX_FRAME_BYTES = 131072;
const MAX_PAYLOAD_DEPTH = 32;
// How often a token function may give back the token the server said expired
// before the client gives up (about 8 s of the default backoff).
const STALE_TOKEN_TRIES = 5;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

const memberPath = (path, k) => (/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(k) ? `${path}.${k}` : `${path}[${JSON.stringify(k)}]`);

/**
 * Why JSON.stringify(payload) would not reach the server as the caller's
 * value (null when it would): a lone surrogate (no UTF-8 for it: the server
 * cannot parse the frame), deeper than 32 levels, a BigInt or a cycle
 * (JSON.stringify throws), NaN or an infinity (sent as null: another value).
 */
function payloadProblem(value, path = 'payload', depth = 0, seen = new Set()) {
  if (typeof value === 'string') return LONE_SURROGATE.test(value) ? `${path}: a string with a lone surrogate (no UTF-8 for it)` : null;
  if (typeof value === 'bigint') return `${path}: a BigInt (${value}n), which JSON has no way to write: send a string or a number`;
  if (typeof value === 'number') return Number.isFinite(value) ? null : `${path}: ${value} is no JSON number (it would be sent as null)`;
  if (value === null || typeof value !== 'object') return null;
  if (typeof value.toJSON === 'function') return payloadProblem(value.toJSON(), path, depth, seen);
  if (depth + 1 > MAX_PAYLOAD_DEPTH) return `${path}: nested deeper than ${MAX_PAYLOAD_DEPTH} levels (the payload object is level 1)`;
  if (seen.has(value)) return `${path}: the payload contains itself`;
  seen.add(value);
  const entries = Array.isArray(value) ? value.map((v, i) => [`${path}[${i}]`, v]) : Object.entries(value).map(([k, v]) => {
    if (LONE_SURROGATE.test(k)) return [null, `${path}: a member name with a lone surrogate (no UTF-8 for it)`];
    return [memberPath(path, k), v];
  });
  for (const [p, v] of entries) {
    const why = p === null ? v : payloadProblem(v, p, depth + 1, seen);
    if (why) return why;
  }
  seen.delete(value);
  return null;
}

const utf8Length = (text) => (typeof TextEncoder === 'function' ? new TextEncoder().encode(text).length : unescape(encodeURIComponent(text)).length);
let idCounter = 0;

function newId() {
  idCounter += 1;
  let rand;
  if (globalThis.crypto && typeof globalThis.crypto.getRandomValues === 'function') {
    const b = new Uint8Array(6);
    globalThis.crypto.getRandomValues(b);
    rand = Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
  } else {
    rand = Math.floor(Math.random() * 2 ** 48).toString(16);
  }
  return `r-${Date.now().toString(36)}-${idCounter}-${rand}`;
}

function withToken(url, token) {
  if (!token) return url;
  const u = new URL(url);
  u.searchParams.set('token', token);
  return u.toString();
}

/**
 * Opens a client and waits for the server's `connected` message.
 * options: token (a string, or a function returning one or a promise of one:
 * called for every connection, so a fresh token can be used after a
 * reconnect), WebSocket (the class; default globalThis.WebSocket),
 * reconnect ({initialDelayMs 250, maxDelayMs 5000, factor 2, maxAttempts
 * Infinity}), pingIntervalMs (20000; 0: none; a connection that does not
 * answer a ping within the interval is dropped and re-opened), gapMs (500:
 * how long a message waits for an older one before `resume` fills the gap),
 * connectTimeoutMs (15000), silenceMs (30000; 0: never: how long an
 * accepted request may stay silent before `resume` asks for what the server
 * stored since the last message; a job that reports more seldom than that
 * costs the server two reads per interval), onStateChange(state) with state 'connecting',
 * 'open', 'reconnecting' or 'closed'. Rejects with StreamerError
 * CONNECT_FAILED when the first connection cannot be opened.
 */
export async function connect(url, options = {}) {
  const c = new StreamerClient(url, options);
  await c.opened();
  return c;
}

export class StreamerClient {
  constructor(url, options = {}) {
    this.url = url;
    this.options = options;
    this.WebSocket = options.WebSocket || globalThis.WebSocket;
    if (typeof this.WebSocket !== 'function') {
      throw new TypeError('no WebSocket class: pass one as the WebSocket option (on Node 20: the ws package)');
    }
    const r = options.reconnect || {};
    this.backoff = {
      initialDelayMs: r.initialDelayMs ?? 250,
      maxDelayMs: r.maxDelayMs ?? 5000,
      factor: r.factor ?? 2,
      maxAttempts: r.maxAttempts ?? Infinity,
    };
    this.pingIntervalMs = options.pingIntervalMs ?? 20000;
    this.gapMs = options.gapMs ?? 500;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 15000;
    this.silenceMs = options.silenceMs ?? 30000;
    this.silenceTimer = null;
    this.state = 'connecting';
    this.connectionId = null;
    this.reconnects = 0;      // successful reconnections so far
    this.requests = new Map(); // id -> entry (requests in flight)
    this.waiters = new Map();  // id -> [{kind: 'status', resolve, reject}]
    this.ws = null;
    this.attempt = 0;
    this.everOpen = false;
    this.closedByUser = false;
    this.timer = null;
    this.openTimer = null;
    this.pingTimer = null;
    this.awaitingPong = false;
    this.staleTokens = 0;
    this.firstOpen = new Promise((resolve, reject) => { this.resolveFirst = resolve; this.rejectFirst = reject; });
    this.firstOpen.catch(() => { /* handled by opened() */ });
    this.open();
  }

  /** Resolves once the first connection is up; rejects with CONNECT_FAILED. */
  opened() { return this.firstOpen; }

  setState(s) {
    if (this.state === s) return;
    this.state = s;
    if (typeof this.options.onStateChange === 'function') {
      try { this.options.onStateChange(s); } catch { /* the caller's bug must not break the client */ }
    }
  }

  async open() {
    if (this.closedByUser) return;
    let token = this.options.token;
    try {
      if (typeof token === 'function') token = await token();
    } catch (e) {
      this.failOpen(`the token function failed: ${e && e.message}`);
      return;
    }
    if (this.closedByUser) return;
    if (this.expiredToken !== undefined && token === this.expiredToken) {
      // The server said this token expired; sent again, the upgrade is
      // refused (a browser is not told why) and the client would reconnect
      // for ever. A function may still be refreshing it: asked again after
      // the backoff, a few times; a string never changes.
      this.staleTokens += 1;
      if (typeof this.options.token !== 'function' || this.staleTokens >= STALE_TOKEN_TRIES) {
        this.shutdown(new StreamerError('UNAUTHORIZED', 'token expired: the server closed the connection and the token '
          + 'option gave no fresh token (pass a function that returns one)', { retryable: true }));
        return;
      }
      this.scheduleReconnect();
      return;
    }
    this.staleTokens = 0;
    this.connToken = token;
    let ws;
    try {
      ws = new this.WebSocket(withToken(this.url, token));
    } catch (e) {
      this.failOpen(`cannot open ${this.url}: ${e && e.message}`);
      return;
    }
    this.ws = ws;
    // up to the server's `connected` message, not only the upgrade
    clearTimeout(this.openTimer);
    const openTimer = setTimeout(() => {
      if (this.ws === ws && this.state !== 'open') {
        try { ws.close(); } catch { /* not open */ }
        this.lost(ws, `no connection within ${this.connectTimeoutMs} ms (a refused token also ends here)`);
      }
    }, this.connectTimeoutMs);
    this.openTimer = openTimer;
    ws.addEventListener('message', (ev) => {
      if (this.ws !== ws) return;
      this.onFrame(typeof ev.data === 'string' ? ev.data : String(ev.data));
    });
    // Browsers say nothing about a failed upgrade; Node's ws says why
    // ("Unexpected server response: 401" for a refused token): keep it.
    let failure = '';
    ws.addEventListener('close', (ev) => {
      clearTimeout(openTimer);
      this.lost(ws, failure ? `${failure} (closed ${ev && ev.code})` : `closed (${ev && ev.code}) (a refused token also ends here)`);
    });
    ws.addEventListener('error', (ev) => { failure = (ev && (ev.message || (ev.error && ev.error.message))) || ''; });
  }

  failOpen(why) {
    if (!this.everOpen) {
      this.closedByUser = true;
      this.setState('closed');
      this.rejectFirst(new StreamerError('CONNECT_FAILED', why));
      return;
    }
    this.scheduleReconnect();
  }

  /** The socket ws went away (or never opened). */
  lost(ws, why) {
    if (this.ws !== ws) return;
    this.ws = null;
    this.stopPing();
    if (this.closedByUser) return;
    if (!this.everOpen) {
      this.failOpen(`cannot connect to ${this.url}: ${why}`);
      return;
    }
    this.scheduleReconnect();
  }

  scheduleReconnect() {
    if (this.closedByUser || this.timer) return;
    if (this.attempt >= this.backoff.maxAttempts) {
      this.shutdown(new StreamerError('CLOSED', `gave up reconnecting after ${this.attempt} attempts`));
      return;
    }
    this.setState('reconnecting');
    const base = Math.min(this.backoff.maxDelayMs, this.backoff.initialDelayMs * this.backoff.factor ** this.attempt);
    const delay = Math.round(base * (0.5 + Math.random() / 2)); // jitter: clients do not come back in step
    this.attempt += 1;
    this.timer = setTimeout(() => { this.timer = null; this.open(); }, delay);
  }

  onFrame(text) {
    let m;
    try { m = JSON.parse(text); } catch { return; }
    if (!m || typeof m !== 'object') return;
    if (m.type === 'connected') { this.onConnected(m); return; }
    if (m.type === 'pong') { this.awaitingPong = false; return; }
    const id = m.request_id;
    if (typeof id !== 'string') {
      // an error about no request: the connection's token expired (the server
      // closes it next), or a frame it could not read
      if (m.type === 'error' && m.error && m.error.code === 'UNAUTHORIZED') this.expiredToken = this.connToken;
      return;
    }
    const e = this.requests.get(id);
    if (!e) { this.untracked(id, m); return; }
    if (!Number.isInteger(m.seq) || m.seq <= 0) {
      // not stored, not in the seq order: an error about a message of ours
      if (m.type === 'error') this.unsequencedError(e, m);
      return;
    }
    if (m.seq <= e.lastSeq || e.early.has(m.seq)) return; // seen already
    e.heardAt = Date.now();
    e.heard = true;
    e.early.set(m.seq, m);
    while (e.early.has(e.lastSeq + 1)) {
      const next = e.early.get(e.lastSeq + 1);
      e.early.delete(e.lastSeq + 1);
      e.lastSeq += 1;
      this.apply(e, next);
      if (e.done) return;
    }
    this.watchGap(e);
  }

  onConnected(m) {
    clearTimeout(this.openTimer);
    this.openTimer = null;
    const first = !this.everOpen;
    this.everOpen = true;
    this.attempt = 0;
    this.connectionId = m.connection_id ?? null;
    if (!first) this.reconnects += 1;
    this.setState('open');
    this.startPing();
    // every request in flight picks up where it was
    for (const e of this.requests.values()) this.catchUp(e);
    // every status still waiting is asked (again): an answer meant for the
    // old connection is lost with it
    for (const [id, list] of this.waiters) for (let i = 0; i < list.length; i++) this.send({ id, action: 'status' });
    if (first) this.resolveFirst(this);
  }

  /** After a (re)connection: resume what was seen, or (re)send the call. */
  catchUp(e) {
    e.early.clear();
    if (e.action === null || e.acked) {
      this.send({ id: e.id, action: 'resume', last_seq: e.lastSeq });
    } else {
      // Same id: never a second job. Not acked: nothing of it is stored yet,
      // or it is a sync call (never stored, seq 1 is no ack): one cut off
      // in its chunks runs again, its answer's seqs from 1 again.
      e.lastSeq = 0;
      e.heard = false;
      e.chunks = [];
      e.chunkCount = 0;
      this.sendText(e.frame);
    }
    if (e.cancelAsked) this.send({ id: e.id, action: 'cancel' });
  }

  watchGap(e) {
    if (e.early.size === 0) {
      clearTimeout(e.gapTimer);
      e.gapTimer = null;
      return;
    }
    if (e.gapTimer) return;
    e.gapTimer = setTimeout(() => {
      e.gapTimer = null;
      if (!e.done && e.early.size > 0 && this.isOpen()) this.send({ id: e.id, action: 'resume', last_seq: e.lastSeq });
    }, this.gapMs);
  }

  apply(e, m) {
    switch (m.type) {
      case 'ack':
        if (e.action !== null && typeof m.endpoint === 'string' && m.endpoint !== e.action) {
          // The id names an earlier request of another endpoint: the server
          // answers a known id with that request's state and end, which this
          // call would take for its own result (the id is the user's for a week).
          this.settle(e, null, new StreamerError('DUPLICATE_REQUEST', `request id '${e.id}' is already a ${m.endpoint} `
            + `request of this user, not ${e.action}: an id names one request (use a fresh id)`, { requestId: e.id, seq: m.seq }));
          return;
        }
        e.acked = true;
        break;
      case 'progress':
        if (e.onProgress) {
          try {
            e.onProgress({ percent: m.percent, message: m.message, progress: m.progress, seq: m.seq });
          } catch { /* the caller's bug must not break the stream */ }
        }
        break;
      case 'result_chunk':
        e.chunks[m.index] = m.data;
        e.chunkCount = m.count;
        break;
      case 'status':
        this.wake(e.id, m);
        break;
      case 'response': // a sync call's answer; chunked like complete when large
      case 'complete':
        if (!m.chunked) { this.settle(e, m.result); break; }
        try {
          if (!(e.chunkCount > 0) || e.chunks.length !== e.chunkCount || e.chunks.some((d) => typeof d !== 'string')) {
            throw new Error(`${e.chunks.filter((d) => typeof d === 'string').length} of ${e.chunkCount} chunks arrived`);
          }
          this.settle(e, JSON.parse(e.chunks.join('')));
        } catch (err) {
          this.settle(e, null, new StreamerError('BAD_MESSAGE', `a chunked result could not be reassembled: ${err.message}`,
            { requestId: e.id }));
        }
        break;
      case 'error':
        this.settle(e, null, this.errorOf(m));
        break;
      default:
        break;
    }
  }

  /**
   * An error without a seq refuses one message and stores nothing. Before
   * anything with a seq came it refuses the call (or follow's resume): the
   * request ends. Once the server holds the request it refuses a status,
   * cancel or resume of ours (RATE_LIMITED past the connection's limits,
   * INTERNAL): the job goes on, so the request must not end: a waiting
   * status() gets the error, else the resume (and a cancel asked) is sent again.
   */
  unsequencedError(e, m) {
    const err = this.errorOf(m);
    if (!e.heard) { this.settle(e, null, err); return; }
    const list = this.waiters.get(e.id);
    if (list && list.length) {
      const w = list.shift();
      if (!list.length) this.waiters.delete(e.id);
      w.reject(err);
      // which message it refused is not said: a cancel asked is sent again too
      if (!(err.retryable && e.cancelAsked)) return;
    } else if (!err.retryable) {
      this.settle(e, null, err);
      return;
    }
    if (e.retryTimer) return;
    e.retryTimer = setTimeout(() => {
      e.retryTimer = null;
      if (e.done || !this.isOpen()) return; // a reconnection resumes anyway
      this.send({ id: e.id, action: 'resume', last_seq: e.lastSeq });
      if (e.cancelAsked) this.send({ id: e.id, action: 'cancel' });
    }, Math.max(this.gapMs, 50) * 2);
  }

  errorOf(m) {
    const er = m.error || {};
    return new StreamerError(er.code || 'INTERNAL', er.message || '', {
      retryable: er.retryable === true, requestId: m.request_id, seq: m.seq,
    });
  }

  settle(e, result, error) {
    if (e.done) return;
    e.done = true;
    clearTimeout(e.gapTimer);
    clearTimeout(e.retryTimer);
    if (e.signal && e.onAbort) e.signal.removeEventListener('abort', e.onAbort);
    this.requests.delete(e.id);
    if (error) {
      this.rejectWaiters(e.id, error);
      e.reject(error);
    } else {
      e.resolve(result);
    }
  }

  /** A message about a request this client does not follow (status of another one). */
  untracked(id, m) {
    if (m.type === 'status') this.wake(id, m);
    else if (m.type === 'error') this.rejectWaiters(id, this.errorOf(m));
  }

  wake(id, m) {
    const list = this.waiters.get(id);
    if (!list || !list.length) return;
    const w = list.shift();
    if (!list.length) this.waiters.delete(id);
    w.resolve({
      status: m.status, endpoint: m.endpoint, percent: m.percent, message: m.message, progress: m.progress,
      lastSeq: m.last_seq,
    });
  }

  rejectWaiters(id, err) {
    const list = this.waiters.get(id);
    if (!list) return;
    this.waiters.delete(id);
    for (const w of list) w.reject(err);
  }

  isOpen() { return this.ws !== null && this.ws.readyState === OPEN && this.state === 'open'; }

  send(obj) { return this.sendText(JSON.stringify(obj)); }

  sendText(text) {
    if (!this.isOpen()) return false; // sent again by catchUp after the reconnection
    try { this.ws.send(text); return true; } catch { return false; }
  }

  /**
   * Silence: an accepted request (ack or a message seen, or one followed)
   * that heard nothing for silenceMs gets `resume` from its last seq, at most
   * once per silenceMs. The server answers with the messages it stored since
   * (nothing while the job runs quietly). Needed where nobody else notices a
   * message stored and never delivered: a processor killed between storing a
   * job's end and sending it (on Lambda; a local server catches up by itself).
   * A call never acked is left alone: its answer may be a sync one, never stored.
   */
  startSilence() {
    this.stopSilence();
    if (!(this.silenceMs > 0)) return;
    const now = Date.now();
    for (const e of this.requests.values()) e.heardAt = now; // the reconnection's own resume just went out
    this.silenceTimer = setInterval(() => {
      if (!this.isOpen()) return;
      const t = Date.now();
      for (const e of this.requests.values()) {
        if (e.done || !(e.acked || e.action === null)) continue; // a sync call is not stored: nothing to resume
        if (t - e.heardAt < this.silenceMs) continue;
        e.heardAt = t;
        this.send({ id: e.id, action: 'resume', last_seq: e.lastSeq });
      }
    }, Math.max(50, Math.min(1000, Math.floor(this.silenceMs / 4))));
    if (typeof this.silenceTimer.unref === 'function') this.silenceTimer.unref(); // the socket keeps Node alive, not this
  }

  stopSilence() {
    if (this.silenceTimer) clearInterval(this.silenceTimer);
    this.silenceTimer = null;
  }

  startPing() {
    this.stopPing();
    this.startSilence();
    if (!(this.pingIntervalMs > 0)) return;
    this.pingTimer = setInterval(() => {
      if (!this.isOpen()) return;
      if (this.awaitingPong) {
        // no pong for a whole interval: the connection is dead without knowing it
        const ws = this.ws;
        try { ws.close(); } catch { /* gone */ }
        this.lost(ws, 'no pong');
        return;
      }
      this.awaitingPong = true;
      this.send({ action: 'ping' });
    }, this.pingIntervalMs);
  }

  stopPing() {
    this.stopSilence();
    if (this.pingTimer) clearInterval(this.pingTimer);
    this.pingTimer = null;
    this.awaitingPong = false;
  }

  /**
   * Calls an endpoint. Resolves to its result; rejects with a StreamerError.
   * opts: onProgress({percent, message, progress, seq}) for every progress
   * message, once each and in order; signal (an AbortSignal: aborting sends
   * `cancel`, and the promise rejects with CANCELLED once the server ended
   * the request); id (the request id, 1-128 of A-Z a-z 0-9 . _ : -; default:
   * a fresh one). The returned promise has the request id as `id`.
   */
  request(action, payload = {}, opts = {}) {
    return this.track(action, payload, opts);
  }

  /**
   * Follows a request sent earlier (by this page before a reload, by another
   * connection of the same user): `resume` from opts.lastSeq (default 0: every
   * stored message again, progress included), then the rest live. Resolves
   * to its result, rejects like request() (NOT_FOUND for an id the user never
   * sent). opts: onProgress, signal, lastSeq.
   */
  follow(id, opts = {}) {
    return this.track(null, undefined, { ...opts, id });
  }

  track(action, payload, opts) {
    if (this.closedByUser) return Promise.reject(new StreamerError('CLOSED', 'the client is closed'));
    const id = opts.id ?? newId();
    if (!ID_RE.test(id)) return Promise.reject(new TypeError(`bad request id '${id}': 1-128 of A-Z a-z 0-9 . _ : -`));
    if (this.requests.has(id)) return Promise.reject(new TypeError(`request '${id}' is already in flight`));
    let frame = null;
    if (action !== null) {
      const refuse = (code, why) => {
        const p = Promise.reject(new StreamerError(code, `${why}; not sent`, { requestId: id }));
        p.id = id;
        return p;
      };
      const why = payloadProblem(payload);
      if (why) return refuse('INVALID_PAYLOAD', why);
      frame = JSON.stringify({ id, action, payload });
      const size = utf8Length(frame);
      if (size > MAX_FRAME_BYTES) return refuse('PAYLOAD_TOO_LARGE', `the message is ${size} bytes of UTF-8, more than the ${MAX_FRAME_BYTES} bytes the server reads`);
    }
    let entry;
    const p = new Promise((resolve, reject) => {
      entry = {
        id, action, payload, frame, resolve, reject, onProgress: opts.onProgress, signal: opts.signal, heard: false, retryTimer: null,
        lastSeq: action === null && Number.isInteger(opts.lastSeq) && opts.lastSeq > 0 ? opts.lastSeq : 0, early: new Map(), gapTimer: null, chunks: [], chunkCount: 0, acked: false, done: false,
        cancelAsked: false, onAbort: null, heardAt: Date.now(),
      };
    });
    this.requests.set(id, entry);
    if (opts.signal) {
      if (opts.signal.aborted) entry.cancelAsked = true;
      entry.onAbort = () => this.cancel(id);
      opts.signal.addEventListener('abort', entry.onAbort, { once: true });
    }
    if (this.isOpen()) this.catchUp(entry);
    p.id = id;
    return p;
  }

  /** Asks the server to cancel request id (also sent again after a reconnection until it ends). */
  cancel(id) {
    const e = this.requests.get(id);
    if (e) e.cancelAsked = true;
    this.send({ id, action: 'cancel' });
  }

  /**
   * The state of request id: {status, endpoint, percent, message, progress,
   * lastSeq}. Rejects with NOT_FOUND for a request the user never sent.
   */
  status(id, { timeoutMs = 15000 } = {}) {
    if (this.closedByUser) return Promise.reject(new StreamerError('CLOSED', 'the client is closed', { requestId: id }));
    return new Promise((resolve, reject) => {
      const list = this.waiters.get(id) || [];
      const w = {
        resolve: (v) => { clearTimeout(t); resolve(v); },
        reject: (e) => { clearTimeout(t); reject(e); },
      };
      const t = setTimeout(() => {
        const l = this.waiters.get(id);
        if (l) {
          const i = l.indexOf(w);
          if (i >= 0) l.splice(i, 1);
          if (!l.length) this.waiters.delete(id);
        }
        reject(new StreamerError('TIMEOUT', `no status of '${id}' within ${timeoutMs} ms`, { requestId: id }));
      }, timeoutMs);
      list.push(w);
      this.waiters.set(id, list);
      // Not connected, or the connection drops before the answer (which
      // then never comes): asked again when the connection is back (onConnected).
      this.send({ id, action: 'status' });
    });
  }

  /** Closes the connection; requests in flight reject with CLOSED (their jobs go on on the server). */
  close() {
    this.shutdown(new StreamerError('CLOSED', 'the client was closed'));
  }

  shutdown(err) {
    this.closedByUser = true;
    clearTimeout(this.timer);
    this.timer = null;
    clearTimeout(this.openTimer);
    this.openTimer = null;
    this.stopPing();
    const ws = this.ws;
    this.ws = null;
    if (ws) { try { ws.close(1000); } catch { /* gone */ } }
    this.setState('closed');
    for (const e of [...this.requests.values()]) this.settle(e, null, err);
    for (const id of [...this.waiters.keys()]) this.rejectWaiters(id, err);
    if (!this.everOpen) this.rejectFirst(err);
  }
}
