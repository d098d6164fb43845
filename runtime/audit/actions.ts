/**
 * The one place the audit row of something a person did is built, whichever transport carried
 * it: http-audit.ts hands over /api requests, socket-audit.ts socket.io commands. A row holds
 * who acted, the action, its target, the outcome, and a small detail taken from allow-listed
 * input fields and from the answer — never a password, a token, an invite code or a key.
 */
import type { AuditLog } from './audit-log.ts';

export type Transport = 'http' | 'socket';

export interface ActionRecord {
  via: Transport;
  /** Who was logged in; null for a visitor (a login or a registration). */
  user: { id: number; username: string } | null;
  /** Dotted verb (`container.launch`), the same whichever transport carried it. */
  action: string;
  /** What the caller sent (a body, a socket payload); only `INPUT_FIELDS` are kept. */
  input: unknown;
  /** What names the target in the request (route parameters, an id in a payload). */
  params?: Record<string, unknown>;
  /** What the caller was answered with: the result, or `{ error }` when it was refused. */
  answer: unknown;
  ok: boolean;
  /** The HTTP status of the answer; over socket.io the status the same refusal has over HTTP. */
  status: number;
  ip: string | null;
  /** Overrides for what the answer cannot say (an admin releasing someone else's container). */
  target?: string | null;
  extra?: Record<string, string | number | boolean | null>;
}

/** Input fields worth keeping; everything else (passwords, keys, codes, tokens) stays out. */
const INPUT_FIELDS = ['type', 'size', 'count', 'name', 'seconds', 'username', 'email', 'mode'];
/** Scalar answer fields worth keeping (`token` and `code` are deliberately not here). */
const ANSWER_FIELDS = ['released', 'user', 'id'] as const;
const RESULT_FIELDS = ['added', 'retired', 'kept', 'recreated', 'skipped'] as const;

export function recordAction(audit: AuditLog, act: ActionRecord): void {
  const input = isRecord(act.input) ? act.input : {};
  const triedName = typeof input.username === 'string' ? input.username.slice(0, 64) : null;
  audit.record({
    actorId: act.user?.id ?? null,
    actor: act.user?.username ?? triedName ?? 'anonymous',
    action: act.action,
    target: act.target !== undefined ? act.target : targetOf(act.params ?? {}, act.answer),
    ok: act.ok,
    status: act.status,
    ip: act.ip,
    detail: { ...detailOf(input, act.answer, act.ok), ...act.extra, via: act.via },
  });
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function targetOf(params: Record<string, unknown>, answer: unknown): string | null {
  const container = isRecord(answer) && isRecord(answer.container) ? answer.container : null;
  if (container && typeof container.name === 'string') return container.name;
  const param = params.name ?? params.id;
  if (typeof param === 'number' && Number.isFinite(param)) return String(param);
  return typeof param === 'string' ? param.slice(0, 128) : null;
}

function detailOf(input: Record<string, unknown>, answer: unknown, ok: boolean): Record<string, unknown> {
  const detail: Record<string, unknown> = {};
  for (const key of INPUT_FIELDS) {
    const value = input[key];
    if (typeof value === 'number' || typeof value === 'boolean') detail[key] = value;
    else if (typeof value === 'string') detail[key] = value.slice(0, 128);
  }
  if (!isRecord(answer)) return detail;
  if (!ok && typeof answer.error === 'string') detail.error = answer.error.slice(0, 300);
  if (Array.isArray(answer.files)) {
    detail.files = answer.files.slice(0, 50).filter(isRecord).map((f) => ({ name: f.name, size: f.size }));
  }
  if (isRecord(answer.container) && typeof answer.container.id === 'number') detail.assignment = answer.container.id;
  for (const key of ANSWER_FIELDS) {
    if (answer[key] !== undefined && (typeof answer[key] !== 'object' || Array.isArray(answer[key]))) detail[key] = answer[key];
  }
  if (isRecord(answer.result)) {
    for (const key of RESULT_FIELDS) if (answer.result[key] !== undefined) detail[key] = answer.result[key];
  }
  return detail;
}
