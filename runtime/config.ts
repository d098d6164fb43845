/**
 * Configuration from the environment (and optionally a JSON file named by POOLDECK_CONFIG,
 * whose keys are the same POOLDECK_* names; the environment wins). Every value is checked
 * here, at start, so a bad value stops the process with a sentence instead of a stack trace.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { TypeRange } from '../machines/types.ts';
import { dockerOptions, EndpointError, nodeSettingsFromEnv, readTls, type NodeSettings, type Tls } from './docker/swarm-config.ts';

export interface ContainerTypeSpec extends TypeRange {
  type: string;
  image: string;
  containerPort: number;
  protocol: 'http' | 'ssh';
  /** Where the slot's files are mounted inside the container. */
  filesMount: string;
  filesReadOnly: boolean;
  capAdd: string[];
  /**
   * Who the web terminal runs as: never the user that serves the port (it could signal,
   * ptrace or, in node, open the inspector of the server and read its visitors' requests).
   */
  terminalUser: string;
  /** File extensions a user may upload (lower case, with the dot). */
  uploadExtensions: string[];
}

export interface Limits {
  memoryBytes: number;
  nanoCpus: number;
  pidsLimit: number;
  logMaxSize: string;
}

export interface EngineConfig {
  /** `docker`: one local dockerd (default). `swarm`: a Docker Swarm through its manager. */
  kind: 'docker' | 'swarm';
  /** POOLDECK_DOCKER_HOST: the engine (or the Swarm manager); null = the local socket. */
  host: string | null;
  /** POOLDECK_DOCKER_CERT_PATH: ca.pem, cert.pem, key.pem for tcp:// with TLS (also used for the nodes' engines). */
  tls: Tls | null;
  /** POOLDECK_NODE_* settings by node key (they win over node labels). */
  nodes: Record<string, NodeSettings>;
}

export interface Config {
  engine: EngineConfig;
  port: number;
  host: string;
  dataDir: string;
  poolName: string;
  bind: string;
  publicHost: string;
  healthIntervalMs: number;
  /** How often the monitor's history takes a sample (POOLDECK_HISTORY_SAMPLE seconds). */
  historySampleMs: number;
  sizes: Record<string, number>;
  types: Record<string, ContainerTypeSpec>;
  perUserLimit: number;
  adminPassword: string | null;
  upload: {
    maxFileBytes: number;
    maxFiles: number;
    maxTotalBytes: number;
    /** An upload whose body sends nothing for this long is ended (408) and its temps removed. */
    idleTimeoutMs: number;
    /** Uploads are refused (507) when they would leave less free space than this on the data disk (kept for SQLite). */
    diskReserveBytes: number;
  };
  accounts: AccountLimits;
  limits: Limits;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  uiDir: string;
  /** Express "trust proxy": behind a TLS-terminating proxy, believe its X-Forwarded-* headers. */
  trustProxy: boolean | number | string;
  /** POOLDECK_METRICS_TOKEN: a bearer that may read GET /metrics (and nothing else); admins always may. */
  metricsToken: string | null;
  /** Days the audit log keeps its rows; 0 keeps them for ever. */
  auditRetentionDays: number;
  /** POOLDECK_CREATE_PARALLELISM: containers created (or rebuilt) at once; the benchmark's boot curve chose the default. */
  createParallelism: number;
  policy: {
    idleTtlMs: number;
    maxLifetimeMs: number;
    warnMs: number;
    /** Elastic types: keep `minWarm` available, grow up to `max`. */
    elastic: Record<string, { minWarm: number; max: number }>;
  };
}

export type RegistrationMode = 'open' | 'invite' | 'closed';
export const REGISTRATION_MODES: readonly RegistrationMode[] = ['open', 'invite', 'closed'];

export interface AccountLimits {
  /** Mode until an admin chooses one at run time (the admin's choice is stored and wins). */
  registration: RegistrationMode;
  /** Successful-or-not registrations one client address may make per hour (0 = no limit). */
  registerPerHour: number;
  /** Password checks (logins) one client address may cause per minute, in bursts up to this (0 = no limit). */
  loginPerAddressPerMinute: number;
  /** Password checks waiting or running at once, over all clients; more are refused with 503. */
  passwordQueue: number;
  /** Worker threads that run bcrypt (0 = cores - 1, 1 to 4). */
  passwordWorkers: number;
}

export class ConfigError extends Error {}

const WEB_EXTENSIONS = ['.html', '.htm', '.css', '.js', '.mjs', '.json', '.txt', '.md', '.svg', '.png', '.jpg', '.jpeg', '.gif', '.webp', '.ico', '.xml', '.csv', '.pdf', '.woff', '.woff2', '.map', '.wasm'];

/** Defaults from the original design: 15 containers, one port range per type. */
export const DEFAULT_TYPES: Record<string, ContainerTypeSpec> = {
  nginx: { type: 'nginx', image: 'pooldeck/nginx:latest', containerPort: 80, portStart: 8000, portEnd: 8099, protocol: 'http', filesMount: '/srv/www', filesReadOnly: true, capAdd: [], terminalUser: 'user', uploadExtensions: WEB_EXTENSIONS },
  apache: { type: 'apache', image: 'pooldeck/apache:latest', containerPort: 80, portStart: 8100, portEnd: 8199, protocol: 'http', filesMount: '/srv/www', filesReadOnly: true, capAdd: [], terminalUser: 'user', uploadExtensions: WEB_EXTENSIONS },
  python: { type: 'python', image: 'pooldeck/python:latest', containerPort: 8000, portStart: 8200, portEnd: 8299, protocol: 'http', filesMount: '/srv/www', filesReadOnly: true, capAdd: [], terminalUser: 'user', uploadExtensions: [...WEB_EXTENSIONS, '.py'] },
  node: { type: 'node', image: 'pooldeck/node:latest', containerPort: 3000, portStart: 8300, portEnd: 8399, protocol: 'http', filesMount: '/srv/www', filesReadOnly: true, capAdd: [], terminalUser: 'user', uploadExtensions: [...WEB_EXTENSIONS, '.cjs', '.ts'] },
  ssh: { type: 'ssh', image: 'pooldeck/ssh:latest', containerPort: 22, portStart: 2200, portEnd: 2210, protocol: 'ssh', filesMount: '/srv/www', filesReadOnly: true, capAdd: ['CHOWN', 'SETUID', 'SETGID', 'SYS_CHROOT', 'AUDIT_WRITE'], terminalUser: 'user', uploadExtensions: [...WEB_EXTENSIONS, '.sh', '.py', '.tar', '.gz', '.zip', '.conf', '.yaml', '.yml'] },
};

/** The spec of a configured type, or undefined (never an inherited property such as "constructor"). */
export function typeSpec(config: Pick<Config, 'types'>, type: string): ContainerTypeSpec | undefined {
  return Object.hasOwn(config.types, type) ? config.types[type] : undefined;
}

/** The spec of a type the pool already runs; an unknown type here is a bug, so this throws. */
export function requireTypeSpec(config: Pick<Config, 'types'>, type: string): ContainerTypeSpec {
  const spec = typeSpec(config, type);
  if (!spec) throw new Error(`unknown container type "${type}"; configured: ${Object.keys(config.types).join(', ')}`);
  return spec;
}

export const DEFAULT_SIZES = 'nginx=5,apache=3,python=3,node=2,ssh=2';

/** Container creations at once: the best point of `make bench`'s boot curve (docs/benchmark.md). */
export const DEFAULT_CREATE_PARALLELISM = 8;

/**
 * Where container ports are published by default: a loopback address of its own, so that the
 * dashboard (http://localhost:5000) and the containers (http://127.0.0.2:8000) never share a
 * host name, and http://localhost:<container port>/ reaches no container.
 */
export const DEFAULT_BIND = '127.0.0.2';

export const isWildcard = (address: string) => address === '0.0.0.0' || address === '::' || address === '';

type Env = Record<string, string | undefined>;

function int(env: Env, key: string, fallback: number, min: number, max: number): number {
  const raw = env[key];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${key}="${raw}" must be a whole number from ${min} to ${max}`);
  }
  return value;
}

export function parseSizes(raw: string, types: Record<string, ContainerTypeSpec>, checkCapacity = true): Record<string, number> {
  const sizes: Record<string, number> = {};
  for (const part of raw.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [, type, count] = /^([a-z0-9-]+)=(\d+)$/.exec(part) ?? [];
    if (type === undefined || count === undefined) throw new ConfigError(`POOLDECK_POOL: "${part}" is not of the form type=count (e.g. nginx=5)`);
    const spec = types[type];
    if (!spec) throw new ConfigError(`POOLDECK_POOL: unknown type "${type}"; known: ${Object.keys(types).join(', ')}`);
    const capacity = spec.portEnd - spec.portStart + 1;
    if (checkCapacity && Number(count) > capacity) throw new ConfigError(`POOLDECK_POOL: ${type}=${count} does not fit ports ${spec.portStart}-${spec.portEnd} (${capacity} at most)`);
    sizes[type] = Number(count);
  }
  return sizes;
}

function parseTypeOverrides(env: Env, types: Record<string, ContainerTypeSpec>) {
  for (const spec of Object.values(types)) {
    const upper = spec.type.toUpperCase();
    const image = env[`POOLDECK_IMAGE_${upper}`];
    if (image) spec.image = image;
    const terminalUser = env[`POOLDECK_TERMINAL_USER_${upper}`];
    if (terminalUser) {
      if (!/^[a-z_][a-z0-9_-]{0,31}$|^\d{1,10}(:\d{1,10})?$/.test(terminalUser)) throw new ConfigError(`POOLDECK_TERMINAL_USER_${upper}="${terminalUser}" must be a user name or uid[:gid] of the image`);
      spec.terminalUser = terminalUser;
    }
    const ports = env[`POOLDECK_PORTS_${upper}`];
    if (ports) {
      const match = /^(\d+)-(\d+)$/.exec(ports);
      if (!match || Number(match[1]) > Number(match[2]) || Number(match[2]) > 65535 || Number(match[1]) < 1) {
        throw new ConfigError(`POOLDECK_PORTS_${upper}="${ports}" must be a range like 8000-8099`);
      }
      spec.portStart = Number(match[1]);
      spec.portEnd = Number(match[2]);
    }
  }
}

/** POOLDECK_TRUST_PROXY: false (default), true, a hop count, or addresses/subnets as express takes them. */
function trustProxy(raw: string | undefined): boolean | number | string {
  if (raw === undefined || raw === '' || raw === 'false' || raw === '0') return false;
  if (raw === 'true') return true;
  if (/^\d+$/.test(raw)) return Number(raw);
  if (!/^[0-9a-fA-F:.,/ a-z]+$/.test(raw)) throw new ConfigError(`POOLDECK_TRUST_PROXY="${raw}" must be true, false, a hop count, or addresses such as loopback or 10.0.0.0/8`);
  return raw;
}

function registrationMode(raw: string | undefined): RegistrationMode {
  if (raw === undefined || raw === '') return 'open';
  if (!(REGISTRATION_MODES as readonly string[]).includes(raw)) throw new ConfigError(`POOLDECK_REGISTRATION="${raw}" must be open, invite or closed`);
  return raw as RegistrationMode;
}

function metricsToken(raw: string | undefined): string | null {
  if (raw === undefined || raw === '') return null;
  if (!/^[\x21-\x7e]{16,256}$/.test(raw)) throw new ConfigError('POOLDECK_METRICS_TOKEN must be 16-256 printable characters without spaces (e.g. the output of "openssl rand -hex 24")');
  return raw;
}

function readConfigFile(file: string | undefined): Env {
  if (!file) return {};
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object');
    return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
  } catch (error) {
    throw new ConfigError(`POOLDECK_CONFIG=${file}: ${(error as Error).message}`);
  }
}

export function parseElastic(raw: string, types: Record<string, ContainerTypeSpec>): Record<string, { minWarm: number; max: number }> {
  const elastic: Record<string, { minWarm: number; max: number }> = {};
  for (const part of raw.split(',').map((p) => p.trim()).filter(Boolean)) {
    const [, type, min, max] = /^([a-z0-9-]+)=(\d+):(\d+)$/.exec(part) ?? [];
    if (type === undefined || min === undefined || max === undefined) throw new ConfigError(`POOLDECK_WARM: "${part}" is not of the form type=min:max (e.g. nginx=2:20)`);
    const spec = types[type];
    if (!spec) throw new ConfigError(`POOLDECK_WARM: unknown type "${type}"`);
    const capacity = spec.portEnd - spec.portStart + 1;
    if (Number(min) > Number(max) || Number(max) > capacity) throw new ConfigError(`POOLDECK_WARM: ${part} needs min <= max <= ${capacity} (ports ${spec.portStart}-${spec.portEnd})`);
    elastic[type] = { minWarm: Number(min), max: Number(max) };
  }
  return elastic;
}

function noElasticOnSwarm(): never {
  throw new ConfigError('POOLDECK_WARM (elastic types) is not supported with POOLDECK_ENGINE=swarm yet; size the pool with POOLDECK_POOL');
}

export function engineConfig(env: Env, typeNames: string[]): EngineConfig {
  const kind = env.POOLDECK_ENGINE || 'docker';
  if (kind !== 'docker' && kind !== 'swarm') throw new ConfigError(`POOLDECK_ENGINE="${kind}" must be docker or swarm`);
  try {
    const tls = readTls(env.POOLDECK_DOCKER_CERT_PATH || undefined);
    const host = env.POOLDECK_DOCKER_HOST || null;
    if (host) dockerOptions(host, tls);
    const nodes = nodeSettingsFromEnv(env, typeNames);
    for (const node of Object.values(nodes)) if (node.engine) dockerOptions(node.engine, tls);
    if (kind === 'docker' && Object.keys(nodes).length) throw new ConfigError(`POOLDECK_NODE_* settings (${Object.keys(nodes).join(', ')}) need POOLDECK_ENGINE=swarm`);
    return { kind, host, tls, nodes };
  } catch (error) {
    if (error instanceof EndpointError) throw new ConfigError(error.message);
    throw error;
  }
}

export function loadConfig(processEnv: Env = process.env): Config {
  const env: Env = { ...readConfigFile(processEnv.POOLDECK_CONFIG), ...processEnv };
  // No prototype: a type named "constructor", "__proto__" or "toString" is unknown, not Object's.
  const types: Record<string, ContainerTypeSpec> = Object.assign(Object.create(null), structuredClone(DEFAULT_TYPES));
  parseTypeOverrides(env, types);
  // Not the dashboard's address: browsers send cookies to every port of a host name, so a
  // container reachable at the dashboard's name would receive its session (docs/security.md).
  const bind = env.POOLDECK_BIND || DEFAULT_BIND;
  if (!/^(\d{1,3}\.){3}\d{1,3}$/.test(bind) && bind !== '::') throw new ConfigError(`POOLDECK_BIND="${bind}" must be an IPv4 address such as 0.0.0.0 or 127.0.0.1`);
  const poolName = env.POOLDECK_POOL_NAME || 'pooldeck';
  if (!/^[a-z0-9][a-z0-9_-]{0,31}$/.test(poolName)) throw new ConfigError(`POOLDECK_POOL_NAME="${poolName}" must be 1-32 lower-case letters, digits, - or _`);
  const engine = engineConfig(env, Object.keys(types));
  const logLevel = (env.POOLDECK_LOG_LEVEL || 'info') as Config['logLevel'];
  if (!['debug', 'info', 'warn', 'error'].includes(logLevel)) throw new ConfigError(`POOLDECK_LOG_LEVEL="${logLevel}" must be debug, info, warn or error`);
  return {
    engine,
    port: int(env, 'POOLDECK_PORT', 5000, 0, 65535),
    host: env.POOLDECK_HOST || '0.0.0.0',
    dataDir: path.resolve(env.POOLDECK_DATA || 'data'),
    poolName,
    bind,
    publicHost: env.POOLDECK_PUBLIC_HOST || (isWildcard(bind) ? 'localhost' : bind),
    healthIntervalMs: int(env, 'POOLDECK_HEALTH_INTERVAL', 30, 1, 86_400) * 1000,
    historySampleMs: int(env, 'POOLDECK_HISTORY_SAMPLE', 10, 1, 3600) * 1000,
    // On a Swarm the nodes' own port ranges bound the sizes; they are checked at start.
    sizes: parseSizes(env.POOLDECK_POOL ?? DEFAULT_SIZES, types, engine.kind === 'docker'),
    types,
    perUserLimit: int(env, 'POOLDECK_USER_LIMIT', 3, 0, 1000),
    adminPassword: env.POOLDECK_ADMIN_PASSWORD || null,
    upload: {
      maxFileBytes: int(env, 'POOLDECK_UPLOAD_MAX_FILE_BYTES', 10 * 1024 * 1024, 1, 2 ** 40),
      maxFiles: int(env, 'POOLDECK_UPLOAD_MAX_FILES', 100, 1, 100_000),
      maxTotalBytes: int(env, 'POOLDECK_UPLOAD_MAX_TOTAL_BYTES', 50 * 1024 * 1024, 1, 2 ** 40),
      idleTimeoutMs: int(env, 'POOLDECK_UPLOAD_IDLE_TIMEOUT', 30, 1, 3600) * 1000,
      diskReserveBytes: int(env, 'POOLDECK_DISK_RESERVE_MB', 256, 0, 2 ** 30) * 1024 * 1024,
    },
    accounts: {
      registration: registrationMode(env.POOLDECK_REGISTRATION),
      registerPerHour: int(env, 'POOLDECK_REGISTER_PER_HOUR', 30, 0, 1_000_000),
      loginPerAddressPerMinute: int(env, 'POOLDECK_LOGIN_PER_ADDRESS', 30, 0, 1_000_000),
      passwordQueue: int(env, 'POOLDECK_PASSWORD_QUEUE', 64, 1, 100_000),
      passwordWorkers: int(env, 'POOLDECK_PASSWORD_WORKERS', 0, 0, 64),
    },
    limits: {
      memoryBytes: int(env, 'POOLDECK_CONTAINER_MEMORY_MB', 256, 16, 1 << 20) * 1024 * 1024,
      nanoCpus: Math.round(Number(env.POOLDECK_CONTAINER_CPUS || '0.5') * 1e9) || 5e8,
      pidsLimit: int(env, 'POOLDECK_CONTAINER_PIDS', 128, 8, 1 << 20),
      logMaxSize: env.POOLDECK_CONTAINER_LOG_SIZE || '1m',
    },
    logLevel,
    uiDir: path.resolve(env.POOLDECK_UI_DIR || 'dist'),
    trustProxy: trustProxy(env.POOLDECK_TRUST_PROXY),
    metricsToken: metricsToken(env.POOLDECK_METRICS_TOKEN),
    auditRetentionDays: int(env, 'POOLDECK_AUDIT_RETENTION_DAYS', 90, 0, 36_500),
    createParallelism: int(env, 'POOLDECK_CREATE_PARALLELISM', DEFAULT_CREATE_PARALLELISM, 1, 1000),
    policy: {
      idleTtlMs: int(env, 'POOLDECK_IDLE_TTL', 2 * 3600, 0, 365 * 86_400) * 1000,
      maxLifetimeMs: int(env, 'POOLDECK_MAX_LIFETIME', 24 * 3600, 0, 365 * 86_400) * 1000,
      warnMs: int(env, 'POOLDECK_EXPIRY_WARNING', 300, 0, 86_400) * 1000,
      elastic: engine.kind === 'swarm' && env.POOLDECK_WARM ? noElasticOnSwarm() : parseElastic(env.POOLDECK_WARM ?? '', types),
    },
  };
}
