/**
 * `@arbiter/client` — the TypeScript SDK of the Arbiter game server.
 *
 * @packageDocumentation
 */
export {
  ArbiterClient,
  longPollUrlFor,
  type ActionOf,
  type ClientEvents,
  type ClientOptions,
  type ConnectionState,
  type CreateOptions,
  type GameTypes,
  type HeartbeatOptions,
  type JoinOptions,
  type QuickJoinOptions,
  type ReconnectOptions,
  type StateInfo,
  type ViewOf,
} from './client.js';
export {
  CHAT_LINES_KEPT,
  Room,
  type ActOptions,
  type ChatHistoryOptions,
  type ChatHistoryPage,
  type InviteInfo,
  type PredictContext,
  type Predictor,
  type RewoundInfo,
  type RoomEvents,
  type UndoOptions,
  type ViewInfo,
  type ViewReason,
} from './room.js';
export { RoomWatch, type RoomWatchEvents } from './watch.js';
export { Interpolator, lerp, type InterpolatorOptions, type Sample } from './interpolate.js';
export { ArbiterError, type ClientErrorCode, type ErrorCode, type ServerErrorCode } from './errors.js';
export { applyPatch, deepClone, deepEqual, escapePointerToken, parsePointer, PatchError } from './patch.js';
export * as msgpack from './msgpack.js';
export { MsgPackExt } from './msgpack.js';
export type {
  CloseInfo,
  Encoding,
  FetchLike,
  FetchResponseLike,
  TransportKind,
  WebSocketConstructor,
  WebSocketLike,
} from './transport.js';
export * from './protocol.js';
export {
  predictTicTacToe,
  winningLine,
  type Mark,
  type TicTacToeAction,
  type TicTacToeSeat,
  type TicTacToeView,
} from './games/tictactoe.js';
export {
  Party,
  type PartyAction,
  type PartyConfig,
  type PartyMember,
  type PartyMemberView,
  type PartyOptions,
  type PartyPick,
  type PartyPlayed,
  type PartyPlaying,
  type PartyView,
} from './games/party.js';
