/**
 * Engine endpoints and Swarm node settings: turning `POOLDECK_DOCKER_HOST`-style URLs into
 * dockerode options, and a node's labels (or their `POOLDECK_NODE_*` overrides) into what the
 * pool needs to know about it. Pure functions over strings; the config module calls them at
 * start so that a bad value stops the process with a sentence.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type Docker from 'dockerode';
import type { TypeRange } from '../../machines/types.ts';

/** Node labels Pooldeck reads (docs/swarm.md, "Labels"). */
export const NODE_LABELS = {
  engine: 'pooldeck.engine',
  publicHost: 'pooldeck.public-host',
  types: 'pooldeck.types',
  /** `pooldeck.ports.<type>=9100-9109`, one label per type (or `pooldeck.ports` for all of them) */
  ports: 'pooldeck.ports',
} as const;

export class EndpointError extends Error {}

export interface Tls {
  ca: string;
  cert: string;
  key: string;
}

/** A Docker engine endpoint: `unix:///path`, `tcp://host:port` (TLS when certificates are given) or `ssh://user@host[:port]`. */
export function dockerOptions(endpoint: string, tls: Tls | null): Docker.DockerOptions {
  if (endpoint.startsWith('unix://')) return { socketPath: endpoint.slice('unix://'.length) || '/var/run/docker.sock' };
  if (endpoint.startsWith('/')) return { socketPath: endpoint };
  let url: URL;
  try {
    url = new URL(endpoint.includes('://') ? endpoint : `tcp://${endpoint}`);
  } catch {
    throw new EndpointError(`"${endpoint}" is not an engine endpoint (unix:///var/run/docker.sock, tcp://host:2375, ssh://user@host)`);
  }
  if (url.protocol === 'ssh:') {
    return {
      protocol: 'ssh',
      host: url.hostname,
      port: Number(url.port || 22),
      username: decodeURIComponent(url.username) || undefined,
      sshOptions: { agent: process.env.SSH_AUTH_SOCK },
    } as Docker.DockerOptions;
  }
  if (url.protocol !== 'tcp:' && url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new EndpointError(`"${endpoint}": the scheme must be unix://, tcp:// or ssh://`);
  }
  if (!url.hostname || !url.port) throw new EndpointError(`"${endpoint}" needs a host and a port, e.g. tcp://10.0.0.5:2376`);
  const secure = tls !== null || url.protocol === 'https:';
  return { host: url.hostname, port: Number(url.port), protocol: secure ? 'https' : 'http', ...(tls ?? {}) };
}

/** `ca.pem`, `cert.pem`, `key.pem` from a directory (as DOCKER_CERT_PATH), read at start. */
export function readTls(dir: string | undefined): Tls | null {
  if (!dir) return null;
  try {
    const read = (f: string) => readFileSync(path.join(dir, f), 'utf8');
    return { ca: read('ca.pem'), cert: read('cert.pem'), key: read('key.pem') };
  } catch (error) {
    throw new EndpointError(`POOLDECK_DOCKER_CERT_PATH=${dir}: ${(error as Error).message}`);
  }
}

export function parseRange(raw: string, what: string): TypeRange {
  const match = /^(\d+)-(\d+)$/.exec(raw.trim());
  if (!match || Number(match[1]) < 1 || Number(match[1]) > Number(match[2]) || Number(match[2]) > 65535) {
    throw new EndpointError(`${what}: "${raw}" must be a port range like 9100-9109`);
  }
  return { portStart: Number(match[1]), portEnd: Number(match[2]) };
}

/**
 * A node's port ranges: `nginx=9100-9104,ssh=9105-9106` (one range per type), or one range
 * `9100-9119` that all the node's types share (a port is still used by one slot at a time).
 */
export function parsePorts(raw: string, types: string[], what: string): Record<string, TypeRange> {
  const text = raw.trim();
  if (/^\d+-\d+$/.test(text)) {
    const shared = parseRange(text, what);
    return Object.fromEntries(types.map((t) => [t, { ...shared }]));
  }
  const ports: Record<string, TypeRange> = {};
  for (const part of text.split(',').map((p) => p.trim()).filter(Boolean)) {
    const match = /^([a-z0-9-]+)=(.+)$/.exec(part);
    if (!match) throw new EndpointError(`${what}: "${part}" is not of the form type=9100-9104`);
    if (types.includes(match[1]!)) ports[match[1]!] = parseRange(match[2]!, `${what} (${match[1]})`);
  }
  return ports;
}

/** What one node's labels (or POOLDECK_NODE_* settings, which win) say. */
export interface NodeSettings {
  engine?: string;
  publicHost?: string;
  types?: string;
  ports?: string;
  /** POOLDECK_NODE_PORTS_<NODE>_<TYPE> */
  typePorts?: Record<string, string>;
}

/** The key a node's hostname has in setting names: `swarm-node-2` → `SWARM_NODE_2`. */
export const nodeKey = (hostname: string) => hostname.toUpperCase().replace(/[^A-Z0-9]/g, '_');

/** POOLDECK_NODE_<NODE>_ENGINE / _PUBLIC_HOST / _TYPES / _PORTS and POOLDECK_NODE_PORTS_<NODE>_<TYPE>, by node key. */
export function nodeSettingsFromEnv(env: Record<string, string | undefined>, types: string[]): Record<string, NodeSettings> {
  const out: Record<string, NodeSettings> = {};
  const typeSuffix = new RegExp(`^POOLDECK_NODE_PORTS_([A-Z0-9_]+)_(${types.map((t) => t.toUpperCase().replace(/-/g, '_')).join('|')})$`);
  for (const [key, value] of Object.entries(env)) {
    if (!value) continue;
    const perType = typeSuffix.exec(key);
    if (perType) {
      const node = (out[perType[1]!] ??= {});
      const type = types.find((t) => t.toUpperCase().replace(/-/g, '_') === perType[2])!;
      parseRange(value, key);
      node.typePorts = { ...node.typePorts, [type]: value };
      continue;
    }
    const field = /^POOLDECK_NODE_([A-Z0-9_]+?)_(ENGINE|PUBLIC_HOST|TYPES|PORTS)$/.exec(key);
    if (!field || field[1]!.startsWith('PORTS_')) continue;
    const node = (out[field[1]!] ??= {});
    if (field[2] === 'ENGINE') node.engine = value;
    else if (field[2] === 'PUBLIC_HOST') node.publicHost = value;
    else if (field[2] === 'TYPES') node.types = value;
    else node.ports = value;
  }
  return out;
}

export interface ResolvedNode {
  engine: string | null;
  publicHost: string;
  ports: Record<string, TypeRange>;
}

/**
 * A node's engine endpoint, public host and port ranges from its labels and the overrides.
 * `fallbackHost` is the node's own address as the manager reports it.
 */
export function resolveNode(hostname: string, labels: Record<string, string>, overrides: NodeSettings | undefined, allTypes: string[], fallbackHost: string): ResolvedNode {
  const o = overrides ?? {};
  const what = `node ${hostname}`;
  const typesRaw = o.types ?? labels[NODE_LABELS.types];
  const types = typesRaw ? typesRaw.split(',').map((t) => t.trim()).filter((t) => allTypes.includes(t)) : allTypes;
  const portsRaw = o.ports ?? labels[NODE_LABELS.ports];
  const ports = portsRaw ? parsePorts(portsRaw, types, `${what} ports`) : {};
  for (const type of types) {
    const label = labels[`${NODE_LABELS.ports}.${type}`];
    if (label) ports[type] = parseRange(label, `${what} label ${NODE_LABELS.ports}.${type}`);
  }
  for (const [type, raw] of Object.entries(o.typePorts ?? {})) if (types.includes(type)) ports[type] = parseRange(raw, `${what} ${type} ports`);
  return {
    engine: o.engine ?? labels[NODE_LABELS.engine] ?? null,
    publicHost: o.publicHost ?? labels[NODE_LABELS.publicHost] ?? fallbackHost,
    ports,
  };
}
