/** Listener signatures by event name. */
export type EventMap<E> = { [K in keyof E]: (...args: any[]) => void };

/**
 * A minimal typed event emitter. A listener that throws does not disturb the emitter or the
 * other listeners: the exception is rethrown asynchronously, where it is reported like any
 * uncaught error.
 */
export class Emitter<E extends EventMap<E>> {
  #listeners = new Map<keyof E, Set<E[keyof E]>>();

  /** Add a listener; returns a function that removes it. */
  on<K extends keyof E>(event: K, listener: E[K]): () => void {
    let set = this.#listeners.get(event);
    if (!set) {
      set = new Set();
      this.#listeners.set(event, set);
    }
    set.add(listener);
    return () => this.off(event, listener);
  }

  /** Add a listener that is removed after its first call. */
  once<K extends keyof E>(event: K, listener: E[K]): () => void {
    const wrapped = ((...args: Parameters<E[K]>) => {
      off();
      listener(...args);
    }) as E[K];
    const off = this.on(event, wrapped);
    return off;
  }

  /** Remove a listener. */
  off<K extends keyof E>(event: K, listener: E[K]): void {
    this.#listeners.get(event)?.delete(listener);
  }

  protected emit<K extends keyof E>(event: K, ...args: Parameters<E[K]>): void {
    const set = this.#listeners.get(event);
    if (!set || set.size === 0) return;
    for (const listener of [...set]) {
      try {
        listener(...args);
      } catch (err) {
        setTimeout(() => {
          throw err;
        }, 0);
      }
    }
  }
}
