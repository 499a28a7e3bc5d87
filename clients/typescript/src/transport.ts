/**
 * The two carriages of the protocol: a WebSocket (JSON text frames or MessagePack binary
 * frames) and HTTP long-poll (JSON). Both deliver server messages in order, batches already
 * split, and report their end once. Neither resends anything: recovery (reconnect, resume,
 * resend) is the client's job.
 */
import { decode as msgpackDecode, encode as msgpackEncode } from './msgpack.js';
import { SUBPROTOCOL_JSON, SUBPROTOCOL_MSGPACK, type ClientMsg } from './protocol.js';

/** The parts of a WebSocket this SDK uses; the browser's `WebSocket` and Node's `ws` fit. */
export interface WebSocketLike {
  binaryType: string;
  readonly protocol: string;
  readonly readyState: number;
  send(data: any): void;
  close(code?: number, reason?: string): void;
  onopen: any;
  onmessage: any;
  onclose: any;
  onerror: any;
}

/** A WebSocket constructor: `globalThis.WebSocket`, or `WebSocket` from the `ws` package. */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

/** The parts of a `fetch` response this SDK uses. */
export interface FetchResponseLike {
  readonly status: number;
  readonly ok: boolean;
  json(): Promise<any>;
}

/** A `fetch` function (the global one by default). */
export type FetchLike = (
  url: string,
  init?: { method?: string; body?: string; headers?: Record<string, string>; signal?: any },
) => Promise<FetchResponseLike>;

export type TransportKind = 'websocket' | 'longpoll';
export type Encoding = 'json' | 'msgpack';

/** Why a transport ended. */
export interface CloseInfo {
  /** A WebSocket close code (1006 when the connection was lost without one). */
  code: number;
  reason: string;
}

/** Where a transport delivers what it receives. */
export interface TransportSink {
  messages(msgs: unknown[]): void;
  closed(info: CloseInfo): void;
}

/** An open carriage. After `close()` or after reporting `closed`, it delivers nothing more. */
export interface Transport {
  readonly kind: TransportKind;
  /** The encoding in use (the server may decline MessagePack; then it is JSON). */
  readonly encoding: Encoding;
  /** Send one message; false if the transport can no longer send. */
  send(msg: ClientMsg): boolean;
  /** Encoded size of a message in bytes, as it would go on the wire. */
  size(msg: ClientMsg): number;
  /** End the transport without reporting `closed`. */
  close(code?: number, reason?: string): void;
}

const utf8 = new TextEncoder();

/** Split a decoded frame: one message, or a batch (an array) of them. */
function unbatch(decoded: unknown): unknown[] {
  return Array.isArray(decoded) ? decoded : [decoded];
}

export interface WebSocketTransportOptions {
  url: string;
  encoding: Encoding;
  WebSocket: WebSocketConstructor;
  timeoutMs: number;
}

/** Open a WebSocket; resolves once it is open, rejects if it cannot open in time. */
export function openWebSocket(opts: WebSocketTransportOptions, sink: TransportSink): Promise<Transport> {
  return new Promise((resolve, reject) => {
    let ws: WebSocketLike;
    try {
      ws = new opts.WebSocket(opts.url, opts.encoding === 'msgpack' ? [SUBPROTOCOL_MSGPACK, SUBPROTOCOL_JSON] : undefined);
    } catch (err) {
      reject(err);
      return;
    }
    ws.binaryType = 'arraybuffer';
    let state: 'opening' | 'open' | 'done' = 'opening';
    let encoding: Encoding = 'json';

    const finish = (): void => {
      state = 'done';
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
    };
    const kill = (code: number, reason: string): void => {
      finish();
      try {
        // A dead connection never completes a closing handshake: drop it at once where we can.
        const terminate = (ws as { terminate?: () => void }).terminate;
        if (code !== 1000 && typeof terminate === 'function') terminate.call(ws);
        else ws.close(code, reason.slice(0, 60));
      } catch {
        // already closed
      }
    };
    const timer = setTimeout(() => {
      if (state !== 'opening') return;
      kill(4000, 'open timed out');
      reject(new Error(`WebSocket did not open within ${opts.timeoutMs} ms`));
    }, opts.timeoutMs);

    const transport: Transport = {
      kind: 'websocket',
      get encoding() {
        return encoding;
      },
      send(msg) {
        if (state !== 'open' || ws.readyState !== 1) return false;
        try {
          ws.send(encoding === 'msgpack' ? msgpackEncode(msg) : JSON.stringify(msg));
          return true;
        } catch {
          return false;
        }
      },
      size(msg) {
        return encoding === 'msgpack' ? msgpackEncode(msg).length : utf8.encode(JSON.stringify(msg)).length;
      },
      close(code = 1000, reason = '') {
        if (state === 'done') return;
        clearTimeout(timer);
        kill(code, reason);
      },
    };

    ws.onopen = () => {
      if (state !== 'opening') return;
      clearTimeout(timer);
      state = 'open';
      encoding = ws.protocol === SUBPROTOCOL_MSGPACK ? 'msgpack' : 'json';
      resolve(transport);
    };
    ws.onerror = () => {
      // A close event follows and says more.
    };
    ws.onclose = (ev: { code?: number; reason?: string }) => {
      const was = state;
      clearTimeout(timer);
      finish();
      const info = { code: ev?.code ?? 1006, reason: ev?.reason ?? '' };
      if (was === 'opening') reject(new Error(`WebSocket closed before opening (${info.code}${info.reason ? ` ${info.reason}` : ''})`));
      else if (was === 'open') sink.closed(info);
    };
    ws.onmessage = (ev: { data: unknown }) => {
      if (state !== 'open') return;
      let msgs: unknown[];
      try {
        const data = ev.data;
        if (typeof data === 'string') msgs = unbatch(JSON.parse(data));
        else if (data instanceof ArrayBuffer) msgs = unbatch(msgpackDecode(new Uint8Array(data)));
        else if (ArrayBuffer.isView(data)) {
          msgs = unbatch(msgpackDecode(new Uint8Array(data.buffer, data.byteOffset, data.byteLength)));
        } else throw new Error('unexpected frame type');
      } catch (err) {
        kill(4000, 'undecodable frame');
        sink.closed({ code: 1007, reason: `undecodable frame from the server: ${(err as Error).message}` });
        return;
      }
      sink.messages(msgs);
    };
  });
}

export interface LongPollTransportOptions {
  /** Base URL of the long-poll endpoint, e.g. `http://127.0.0.1:7878/lp`. */
  url: string;
  fetch: FetchLike;
  timeoutMs: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Open a long-poll session (`POST /lp`), then keep one `GET /lp/{sid}?after=N` outstanding
 * and send messages with `POST /lp/{sid}`, one request at a time so they arrive in order
 * (messages queued meanwhile go together as an array).
 */
export async function openLongPoll(opts: LongPollTransportOptions, sink: TransportSink): Promise<Transport> {
  const base = opts.url.replace(/\/+$/, '');
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), opts.timeoutMs);
  let sid: string;
  try {
    const res = await opts.fetch(base, { method: 'POST', signal: abort.signal });
    if (!res.ok) throw new Error(`POST ${base} answered ${res.status}`);
    const body = await res.json();
    if (typeof body?.sid !== 'string') throw new Error(`POST ${base} gave no session id`);
    sid = body.sid;
  } finally {
    clearTimeout(timer);
  }
  const session = `${base}/${encodeURIComponent(sid)}`;
  let done = false;
  let after = 0;
  const outbox: ClientMsg[] = [];
  let sending = false;

  const end = (info: CloseInfo | null): void => {
    if (done) return;
    done = true;
    abort.abort();
    // Tell the server at once (it would otherwise notice after its idle timeout).
    opts.fetch(session, { method: 'DELETE' }).catch(() => {});
    if (info) sink.closed(info);
  };

  const lost = async (res: FetchResponseLike, what: string): Promise<CloseInfo> => {
    let code = '';
    try {
      code = (await res.json())?.error?.code ?? '';
    } catch {
      // no body
    }
    return { code: 1006, reason: `${what} answered ${res.status}${code ? ` ${code}` : ''}` };
  };

  const flush = async (): Promise<void> => {
    if (sending) return;
    sending = true;
    try {
      while (outbox.length > 0 && !done) {
        const batch = outbox.splice(0);
        const body = JSON.stringify(batch.length === 1 ? batch[0] : batch);
        let res: FetchResponseLike;
        try {
          res = await opts.fetch(session, {
            method: 'POST',
            body,
            headers: { 'content-type': 'application/json' },
            signal: abort.signal,
          });
        } catch {
          // Whether it arrived is unknown; a fresh session and a resume sort that out.
          end({ code: 1006, reason: 'long-poll send failed' });
          return;
        }
        if (!res.ok) {
          end(await lost(res, 'long-poll send'));
          return;
        }
      }
    } finally {
      sending = false;
    }
  };

  const poll = async (): Promise<void> => {
    let failures = 0;
    while (!done) {
      let body: { last?: number; messages?: unknown[]; closed?: { code: number; reason: string } };
      try {
        const res = await opts.fetch(`${session}?after=${after}`, { signal: abort.signal });
        if (!res.ok) {
          const info = await lost(res, 'long-poll');
          end(info);
          return;
        }
        body = await res.json();
      } catch {
        if (done) return;
        // A lost poll is simply repeated with the same `after`.
        if (++failures > 3) {
          end({ code: 1006, reason: 'long-poll failed' });
          return;
        }
        await sleep(200 * failures);
        continue;
      }
      failures = 0;
      if (done) return;
      if (typeof body.last === 'number') after = body.last;
      const msgs = (body.messages ?? []).flatMap(unbatch);
      if (msgs.length > 0) sink.messages(msgs);
      if (body.closed) {
        end({ code: body.closed.code, reason: body.closed.reason });
        return;
      }
    }
  };

  const transport: Transport = {
    kind: 'longpoll',
    encoding: 'json',
    send(msg) {
      if (done) return false;
      outbox.push(msg);
      void flush();
      return true;
    },
    size(msg) {
      return utf8.encode(JSON.stringify(msg)).length;
    },
    close() {
      end(null);
    },
  };
  void poll();
  return transport;
}
