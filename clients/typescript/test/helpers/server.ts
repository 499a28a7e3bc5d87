/** Spawn a real Arbiter server for a test file, on a free port with a fresh data dir. */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The package directory (build/test/helpers/ → ../../../). */
export const packageDir = fileURLToPath(new URL('../../../', import.meta.url));

export function serverBinary(): string {
  return process.env.ARBITER_BIN ?? resolve(packageDir, '../../target/debug/arbiter');
}

export function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => res(port));
    });
  });
}

export interface TestServer {
  port: number;
  dataDir: string;
  /** `ws://127.0.0.1:<port>/ws` */
  wsUrl: string;
  /** `http://127.0.0.1:<port>` */
  httpUrl: string;
  stop(): Promise<void>;
}

export interface ServerOptions {
  /** Listen on this port (a free one by default). */
  port?: number;
  /** Use this data directory (it keeps the token secret) and leave it in place on stop. */
  dataDir?: string;
  args?: string[];
}

export async function startServer(options: ServerOptions = {}): Promise<TestServer> {
  const bin = serverBinary();
  if (!existsSync(bin)) {
    throw new Error(`no server binary at ${bin}: run \`cargo build -p arbiter-server\` in the repository root, or set ARBITER_BIN`);
  }
  const ownDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'arbiter-sdk-test-')));
  const extraArgs = options.args ?? [];
  let lastError: unknown;
  for (let tries = 0; tries < 3; tries++) {
    const port = options.port ?? (await freePort());
    const child = spawn(
      bin,
      ['serve', '--listen', `127.0.0.1:${port}`, '--data-dir', dataDir, '--allow-seeded-rooms', ...extraArgs],
      { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ARBITER_LOG: process.env.ARBITER_LOG ?? 'warn' } },
    );
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
      if (process.env.ARBITER_TEST_LOG) process.stderr.write(d);
    });
    const httpUrl = `http://127.0.0.1:${port}`;
    try {
      await waitHealthy(child, httpUrl, () => stderr);
    } catch (err) {
      lastError = err;
      child.kill('SIGKILL');
      continue;
    }
    return {
      port,
      dataDir,
      wsUrl: `ws://127.0.0.1:${port}/ws`,
      httpUrl,
      stop: async () => {
        await stopChild(child);
        if (ownDir) await rm(dataDir, { recursive: true, force: true });
      },
    };
  }
  if (ownDir) await rm(dataDir, { recursive: true, force: true });
  throw lastError;
}

async function waitHealthy(child: ChildProcess, httpUrl: string, stderr: () => string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`the server exited (${child.exitCode ?? child.signalCode}): ${stderr()}`);
    }
    try {
      const res = await fetch(`${httpUrl}/healthz`);
      if (res.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`the server did not become healthy: ${stderr()}`);
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((res) => {
    const t = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(t);
      res();
    });
    child.kill('SIGTERM');
  });
}
