/** How an admin section tells the page what happened (one status line for the whole page). */
export interface Report {
  ok(text: string): void;
  fail(text: string): void;
}
