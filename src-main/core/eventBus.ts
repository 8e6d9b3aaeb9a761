import { EventEmitter } from 'node:events';
import type { EventName, EventPayload } from '../../src-shared/contract.ts';

/** Typed events from the services to every door. */
export class EventBus {
  private readonly emitter = new EventEmitter();

  constructor() {
    this.emitter.setMaxListeners(100);
  }

  emit<E extends EventName>(name: E, payload: EventPayload<E>): void {
    this.emitter.emit(name, payload);
  }

  on<E extends EventName>(name: E, listener: (payload: EventPayload<E>) => void): () => void {
    this.emitter.on(name, listener);
    return () => this.emitter.off(name, listener);
  }
}
