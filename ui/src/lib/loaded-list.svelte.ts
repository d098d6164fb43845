/**
 * A list an account page loads from the API when it opens (sessions, API tokens, SSH keys): its
 * items, whether the first load has finished, and the sentence to show when it failed.
 */
import { describe } from './api.ts';

export class LoadedList<T> {
  items = $state<T[]>([]);
  loaded = $state(false);
  error = $state('');

  /** `what` completes "could not load …" (e.g. "your sessions"). */
  constructor(
    private readonly fetch: () => Promise<T[]>,
    private readonly what: string,
  ) {}

  async load(): Promise<void> {
    try {
      this.items = await this.fetch();
      this.error = '';
    } catch (e) {
      this.error = `could not load ${this.what}: ${describe(e)}`;
    } finally {
      this.loaded = true;
    }
  }
}
