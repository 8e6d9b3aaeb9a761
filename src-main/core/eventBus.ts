import { EventEmitter } from 'node:events';
import type { EventName, EventPayload } from '../../src-shared/contract.ts';
import { currentWindow } from './window.ts';

/**
 * Typed events from the services to every door. Each carries the window whose call raised it
 * (undefined when no call did), so that a door with several windows shows each its own.
 */
export class EventBus {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(100);
  }

  emit<E extends EventName>(name: E, payload: EventPayload<E>): void {
    this.emitter.emit(name, payload, currentWindow());
  }

  on<E extends EventName>(name: E, listener: (payload: EventPayload<E>, origin: string | undefined) => void): () => void {
    this.emitter.on(name, listener);
    return () => this.emitter.off(name, listener);
  }
}
