/**
 * A TCP proxy the tests control, put between a client and the server to kill its connection
 * abruptly (no close frame, like a dropped Wi-Fi), refuse new connections for a while, or
 * swallow everything the server sends (an answer lost on the way).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

export class TcpProxy {
  readonly server: Server;
  port = 0;
  /** Refuse new connections (accept and drop them at once). */
  blocked = false;
  /** Discard bytes from the server to the client. */
  blackhole = false;
  /** Connections accepted so far. */
  accepted = 0;
  #pairs = new Set<[Socket, Socket]>();

  constructor(readonly targetPort: number) {
    this.server = createServer((client) => this.#accept(client));
  }

  static async start(targetPort: number): Promise<TcpProxy> {
    const p = new TcpProxy(targetPort);
    await new Promise<void>((res) => p.server.listen(0, '127.0.0.1', res));
    const addr = p.server.address();
    p.port = typeof addr === 'object' && addr ? addr.port : 0;
    return p;
  }

  get wsUrl(): string {
    return `ws://127.0.0.1:${this.port}/ws`;
  }

  #accept(client: Socket): void {
    if (this.blocked) {
      client.destroy();
      return;
    }
    this.accepted++;
    const upstream = connect(this.targetPort, '127.0.0.1');
    const pair: [Socket, Socket] = [client, upstream];
    this.#pairs.add(pair);
    const end = () => {
      this.#pairs.delete(pair);
      client.destroy();
      upstream.destroy();
    };
    client.on('data', (d) => upstream.write(d));
    upstream.on('data', (d) => {
      if (!this.blackhole) client.write(d);
    });
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
  }

  /** Kill every open connection abruptly, both ways. */
  cut(): void {
    for (const [client, upstream] of this.#pairs) {
      client.resetAndDestroy();
      upstream.resetAndDestroy();
    }
    this.#pairs.clear();
  }

  get open(): number {
    return this.#pairs.size;
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((res) => this.server.close(() => res()));
  }
}
