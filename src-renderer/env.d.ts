import type { EventName } from '../src-shared/contract.ts';
import type { Result } from '../src-shared/result.ts';

declare global {
  interface Window {
    /** set by the Electron preload; absent when the console runs in a browser against the HTTP host */
    api?: {
      call(channel: string, payload: unknown): Promise<Result<unknown>>;
      on(event: EventName, listener: (payload: unknown) => void): () => void;
    };
  }
}
export {};
