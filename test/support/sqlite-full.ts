/** Filling SQLite until it answers SQLITE_FULL: how the disk-full tests make the disk "full". */
import type { ExecutionContext } from 'ava';

/** Insert rows with `insert(i)` until SQLite refuses with SQLITE_FULL (asserted), at most 100,000. */
export async function fillUntilFull(t: ExecutionContext, insert: (i: number) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < 100_000; i++) {
    try {
      await insert(i);
    } catch (error) {
      t.regex(String(error), /SQLITE_FULL/);
      return;
    }
  }
}
