/** Account shapes the HTTP API answers with, written once for the server and the UI. */

/** One login session of the caller (GET /api/me/sessions). */
export interface SessionView {
  id: number;
  createdAt: string;
  expiresAt: string;
  ip: string | null;
  userAgent: string | null;
  current: boolean;
}

/** An invite code as listed to admins (its secret is shown only when made). */
export interface InviteRow {
  id: number;
  note: string;
  uses_left: number;
  created_by: string | null;
  created_at: string;
  expires_at: string | null;
}
