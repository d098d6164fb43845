/**
 * The shapes of the HTTP API as TypeBox schemas (JSON Schema): request bodies are validated
 * against them (request-validation.ts) and the OpenAPI document is generated from them
 * (openapi.ts), so the description and the checks cannot drift apart. Answers may carry more
 * fields than listed (additional properties are allowed); the listed ones are promised.
 */
import { Type, type TSchema } from '@sinclair/typebox';

const Nullable = <T extends TSchema>(schema: T) => Type.Union([schema, Type.Null()]);
/** Control characters (C0, DEL, C1) and bidi overrides are refused in every user-given text but secrets and key lines. */
export const PLAIN_TEXT = '^[^\\x00-\\x1f\\x7f-\\x9f\\u200e\\u200f\\u202a-\\u202e\\u2066-\\u2069]*$';
const describe = (description?: string) => (description ? { description } : {});
/** Required text without control characters. */
const Text = (maxLength: number, description?: string) => Type.String({ minLength: 1, maxLength, pattern: PLAIN_TEXT, ...describe(description) });
/** Required text taken as it is (passwords, key lines): any character. */
const Raw = (maxLength: number, description?: string) => Type.String({ minLength: 1, maxLength, ...describe(description) });
const IsoTime = Type.String({ format: 'date-time' });
const SlotState = Type.Union(['available', 'assigned', 'failed', 'stopped'].map((s) => Type.Literal(s)));

// ---- bodies ----
export const Bodies = {
  register: Type.Object({ username: Text(1024), email: Text(1024), password: Raw(1024), invite: Type.Optional(Type.String({ maxLength: 100, pattern: PLAIN_TEXT, description: 'an invite code, when registration is by invitation' })) }),
  login: Type.Object({ username: Text(1024), password: Raw(1024) }),
  tokenCreate: Type.Object({ name: Text(64) }),
  keyAdd: Type.Object({ key: Raw(16 * 1024, 'one OpenSSH public key line') }),
  passwordChange: Type.Object({ current: Raw(256), password: Raw(256) }),
  accountDelete: Type.Object({ password: Raw(256) }),
  launch: Type.Object({ type: Text(64, 'a container type: nginx, apache, python, node, ssh') }),
  resize: Type.Object({ type: Text(64), size: Type.Integer({ description: 'the new number of slots of this type: 0 to the number of ports of its range' }) }),
  add: Type.Object({ type: Text(64), count: Type.Integer({ description: '1 to the free ports of the type' }) }),
  interval: Type.Object({ seconds: Type.Number({ minimum: 1, maximum: 86_400 }) }),
  registrationMode: Type.Object({ mode: Text(16, 'open, invite or closed') }),
  invite: Type.Object({
    uses: Type.Optional(Type.Integer({ minimum: 1, maximum: 10_000, description: 'how many registrations the code allows (default 1)' })),
    hours: Type.Optional(Type.Integer({ minimum: 0, maximum: 24 * 365, description: 'hours until it expires (default 168; 0: never)' })),
    note: Type.Optional(Type.String({ maxLength: 200, pattern: PLAIN_TEXT })),
  }),
};

// ---- answers ----
export const ErrorAnswer = Type.Object({ error: Type.String() }, { description: 'what went wrong, as one sentence' });
export const Ok = Type.Object({ ok: Type.Literal(true) });

export const User = Type.Object({ id: Type.Integer(), username: Type.String(), email: Type.String(), isAdmin: Type.Boolean() });
export const Container = Type.Object({
  id: Nullable(Type.Integer({ description: 'the assignment id, used in every /containers/{id} route' })),
  name: Type.String(),
  type: Type.String(),
  status: SlotState,
  phase: Type.String(),
  host_port: Type.Integer(),
  url: Type.Optional(Type.String({ description: 'web types: where the container serves' })),
  ssh: Type.Optional(Type.String({ description: 'ssh type: the command that logs in' })),
  created_at: Nullable(IsoTime),
});
export const AdminSlot = Type.Object({
  name: Type.String(),
  type: Type.String(),
  index: Type.Integer(),
  state: SlotState,
  phase: Type.String(),
  host_port: Type.Integer(),
  node: Type.Optional(Nullable(Type.String({ description: 'on a Swarm: the node that runs the slot (null on one engine)' }))),
  container_id: Nullable(Type.String()),
  owner: Nullable(Type.String()),
  owner_id: Nullable(Type.Integer()),
  assignment_id: Nullable(Type.Integer()),
  since: Nullable(Type.String()),
  error: Nullable(Type.String()),
});
export const Node = Type.Object({
  name: Type.String(),
  state: Type.Union([Type.Literal('ready'), Type.Literal('down'), Type.Literal('drain')]),
  host: Type.String({ description: 'where the node\'s published ports are reached' }),
  ports: Type.Record(Type.String(), Type.Object({ portStart: Type.Integer(), portEnd: Type.Integer() })),
  slots: Type.Record(Type.String(), Type.Integer(), { description: 'the pool\'s slots on the node, per state' }),
});
export const Counts = Type.Record(Type.String(), Type.Record(Type.String(), Type.Integer()), { description: 'per type, slots per state' });
export const FileEntry = Type.Object({ name: Type.String(), size: Type.Integer() });
export const Token = Type.Object({ id: Type.Integer(), name: Type.String(), created_at: Type.String(), last_used_at: Nullable(Type.String()) });
export const SshKey = Type.Object({ id: Type.Integer(), fingerprint: Type.String() });
export const Session = Type.Object({ id: Type.Integer(), createdAt: Type.String(), expiresAt: Type.String(), ip: Nullable(Type.String()), userAgent: Nullable(Type.String()), current: Type.Boolean() });
export const ResizeResult = Type.Object({ added: Type.Array(Type.String()), retired: Type.Array(Type.String()), kept: Type.Integer() });
export const Monitor = Type.Object({ paused: Type.Boolean(), intervalMs: Type.Integer() });
export const Sweep = Type.Object({ at: Type.Unknown(), durationMs: Type.Number(), containers: Type.Integer(), dockerCalls: Type.Integer() });
export const AuditEntry = Type.Object({
  id: Type.Integer(), at: IsoTime, actor: Type.String(), actorId: Nullable(Type.Integer()), action: Type.String(),
  target: Nullable(Type.String()), ok: Type.Boolean(), status: Nullable(Type.Integer()), ip: Nullable(Type.String()), detail: Type.Record(Type.String(), Type.Unknown()),
});
export const Invite = Type.Object({ id: Type.Integer(), note: Type.String(), uses_left: Type.Integer(), created_by: Nullable(Type.String()), created_at: Type.String(), expires_at: Nullable(Type.String()) });
