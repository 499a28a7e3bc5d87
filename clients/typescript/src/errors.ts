/**
 * The stable error codes of protocol version 1, plus the few this SDK raises itself. A server
 * may add codes; treat unknown ones like `UNKNOWN`.
 */
export type ServerErrorCode =
  | 'BAD_MESSAGE'
  | 'UNKNOWN_TYPE'
  | 'INVALID_FIELD'
  | 'UNSUPPORTED_VERSION'
  | 'NOT_AUTHENTICATED'
  | 'ALREADY_AUTHENTICATED'
  | 'BAD_TOKEN'
  | 'UNKNOWN_GAME'
  | 'INVALID_CONFIG'
  | 'ROOM_NOT_FOUND'
  | 'ROOM_FULL'
  | 'JOIN_REFUSED'
  | 'NOT_IN_ROOM'
  | 'ALREADY_IN_ROOM'
  | 'NOT_A_PLAYER'
  | 'STALE'
  | 'SEQ_REUSED'
  | 'INVALID_ACTION'
  | 'NOT_YOUR_TURN'
  | 'INVALID_MOVE'
  | 'GAME_OVER'
  | 'GAME_IN_PROGRESS'
  | 'PAUSED'
  | 'UNSUPPORTED'
  | 'SESSION_NOT_FOUND'
  | 'FORBIDDEN_ORIGIN'
  | 'FORBIDDEN'
  | 'NOT_FOUND'
  | 'RATE_LIMITED'
  | 'ROOM_CLOSED'
  | 'UNAVAILABLE'
  | 'INTERNAL'
  | 'API_KEY_REQUIRED'
  | 'INVALID_API_KEY'
  | 'API_KEY_REVOKED'
  | 'API_KEY_EXPIRED'
  | 'FORBIDDEN_SCOPE'
  | 'IDEMPOTENCY_KEY_REQUIRED'
  | 'IDEMPOTENCY_CONFLICT'
  | 'IDEMPOTENCY_IN_PROGRESS'
  | 'VERSION_CONFLICT'
  | 'UNKNOWN';

/**
 * Codes raised by the SDK, never sent by a server:
 * * `CONNECT_FAILED` — the first connection could not be opened or was not welcomed;
 * * `DISCONNECTED` — a `create` or `add_bot` was in flight when the connection dropped, so
 *   whether it happened is unknown (these are not idempotent and are not resent);
 * * `CLOSED` — the client was closed (or gave up reconnecting) with the request pending, or a
 *   room watch ended (stopped, replaced, the client closed) before its first list;
 * * `FRAME_TOO_LARGE` — the message is above the server's `max_frame` and was not sent;
 * * `PATCH_FAILED` — a server patch did not apply to the held view (the SDK re-syncs).
 */
export type ClientErrorCode = 'CONNECT_FAILED' | 'DISCONNECTED' | 'CLOSED' | 'FRAME_TOO_LARGE' | 'PATCH_FAILED';

/** Any code an {@link ArbiterError} may carry (open-ended for forward compatibility). */
export type ErrorCode = ServerErrorCode | ClientErrorCode | (string & {});

/**
 * An error answered by the server (`error`, `reject`) or raised by the SDK. `code` is the stable
 * code string; `details` carries the server's structured facts (for `STALE`: `{ v }`).
 */
export class ArbiterError extends Error {
  override readonly name = 'ArbiterError';
  readonly code: ErrorCode;
  readonly details: unknown;
  /** The action's seq, for rejected actions. */
  readonly seq: number | undefined;
  /** The room the error is about, when known. */
  readonly room: string | undefined;

  constructor(
    code: ErrorCode,
    message: string,
    details?: unknown,
    extra: { seq?: number; room?: string; cause?: unknown } = {},
  ) {
    super(message, extra.cause === undefined ? undefined : { cause: extra.cause });
    this.code = code;
    this.details = details;
    this.seq = extra.seq;
    this.room = extra.room;
  }
}
