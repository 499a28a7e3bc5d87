import assert from 'node:assert/strict';
import WebSocket from 'ws';
import { ArbiterClient, type ClientOptions, type Room, type TicTacToeAction, type TicTacToeView } from '@arbiter/client';

/** Wait until `check` holds (`what` names it for a reader). There is no deadline here, so a
 *  busy machine makes a test slower, never red; a hang is caught by the runner's per-test
 *  timeout (package.json). */
export async function waitFor(check: () => boolean, _what: string): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 5));
}

/** A client for Node: the `ws` package as the WebSocket, quick reconnects. */
export function nodeClient(options: ClientOptions): ArbiterClient {
  return new ArbiterClient({
    WebSocket,
    reconnect: { initialDelayMs: 20, maxDelayMs: 100 },
    ...options,
  });
}

export type TTTRoom = Room<TicTacToeView, TicTacToeAction>;

export function move(cell: number): TicTacToeAction {
  return { type: 'move', row: Math.floor(cell / 3), col: cell % 3 };
}

/** Two clients in one tic-tac-toe room, both seated, with a game under way. */
export async function seatedPair(
  a: ArbiterClient,
  b: ArbiterClient,
): Promise<{ ra: TTTRoom; rb: TTTRoom }> {
  await Promise.all([a.connect(), b.connect()]);
  const ra = await a.create({ game: 'tictactoe', public: false });
  const rb = await b.join<TicTacToeView, TicTacToeAction>(ra.code);
  assert.equal(rb.role, 'player');
  await waitFor(() => ra.view?.turn != null && ra.version === rb.version, 'both players to see the game start');
  return { ra, rb };
}

/** Whose room it is to move, by player id. */
export function mover(ra: TTTRoom, rb: TTTRoom, a: ArbiterClient): TTTRoom {
  return rb.view!.turn === a.player!.id ? ra : rb;
}

/**
 * Play a game to a win for whoever moves first: the first mover takes cells 0, 1, 2 and the
 * other 3, 4. Returns the final version.
 */
export async function playScripted(ra: TTTRoom, rb: TTTRoom, a: ArbiterClient): Promise<number> {
  const first = mover(ra, rb, a);
  const second = first === ra ? rb : ra;
  const plan: Array<[TTTRoom, number]> = [
    [first, 0],
    [second, 3],
    [first, 1],
    [second, 4],
    [first, 2],
  ];
  let v = 0;
  for (const [room, cell] of plan) v = await room.act(move(cell));
  await waitFor(() => ra.version === v && rb.version === v, 'both players to reach the last version');
  return v;
}

export function marks(view: TicTacToeView): number {
  return view.board.filter((c) => c !== null).length;
}
