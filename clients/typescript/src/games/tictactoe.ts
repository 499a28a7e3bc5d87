/**
 * The built-in tic-tac-toe (docs/games/tictactoe.md): its view, its actions, and a predictor
 * that mirrors the server's rules for optimistic display.
 */
import { ArbiterError } from '../errors.js';
import type { PredictContext } from '../room.js';

export type Mark = 'X' | 'O';

export interface TicTacToeSeat {
  mark: Mark;
  name: string;
}

/** Everything is public, so every member shares this view. */
export interface TicTacToeView {
  /** Row by row: index = row × 3 + col. */
  board: Array<Mark | null>;
  /** Seated players by id. */
  players: Record<string, TicTacToeSeat>;
  /** Whose move it is; null before two players are seated and after the game ends. */
  turn: string | null;
  winner: string | null;
  /** The three winning cells. */
  line: [number, number, number] | null;
  draw: boolean;
  /** The game ended because a player left. */
  forfeit: boolean;
  over: boolean;
  /** Games started in this room so far. */
  round: number;
}

export type TicTacToeAction = { type: 'move'; row: number; col: number } | { type: 'restart' };

const LINES: Array<[number, number, number]> = [
  [0, 1, 2],
  [3, 4, 5],
  [6, 7, 8],
  [0, 3, 6],
  [1, 4, 7],
  [2, 5, 8],
  [0, 4, 8],
  [2, 4, 6],
];

/** The winning line on a board, if there is one. */
export function winningLine(board: ReadonlyArray<Mark | null>): [number, number, number] | undefined {
  return LINES.find(([a, b, c]) => board[a] !== null && board[a] === board[b] && board[b] === board[c]);
}

/**
 * Predict a tic-tac-toe action by the server's rules. Throws an {@link ArbiterError} with the
 * code the server would answer when the action would be refused, so no prediction is shown.
 * A restart is predicted as a cleared board with nobody's turn (the server picks the starter).
 */
export function predictTicTacToe(view: TicTacToeView, action: TicTacToeAction, context: PredictContext): TicTacToeView {
  const me = context.player;
  const seat = view.players[me];
  if (!seat) throw new ArbiterError('NOT_A_PLAYER', 'you have no seat');
  if (action.type === 'restart') {
    if (!view.over) throw new ArbiterError('GAME_IN_PROGRESS', 'a game in progress cannot be restarted');
    if (Object.keys(view.players).length < 2) throw new ArbiterError('INVALID_MOVE', 'waiting for an opponent');
    return {
      ...view,
      board: Array<Mark | null>(9).fill(null),
      winner: null,
      line: null,
      draw: false,
      forfeit: false,
      over: false,
      turn: null,
      round: view.round + 1,
    };
  }
  if (action.type !== 'move') throw new ArbiterError('INVALID_ACTION', 'unknown action');
  if (view.over) throw new ArbiterError('GAME_OVER', 'the game is over');
  if (Object.keys(view.players).length < 2) throw new ArbiterError('INVALID_MOVE', 'waiting for an opponent');
  if (view.turn !== me) throw new ArbiterError('NOT_YOUR_TURN', 'it is not your turn');
  const { row, col } = action;
  if (![0, 1, 2].includes(row) || ![0, 1, 2].includes(col)) throw new ArbiterError('INVALID_MOVE', 'row and col must be 0, 1 or 2');
  const cell = row * 3 + col;
  if (view.board[cell] !== null) throw new ArbiterError('INVALID_MOVE', 'that cell is already taken');
  const board = [...view.board];
  board[cell] = seat.mark;
  const line = winningLine(board);
  const next: TicTacToeView = { ...view, board };
  if (line) {
    Object.assign(next, { winner: me, line, over: true, turn: null });
  } else if (board.every((c) => c !== null)) {
    Object.assign(next, { draw: true, over: true, turn: null });
  } else {
    next.turn = Object.keys(view.players).find((id) => id !== me) ?? null;
  }
  return next;
}
