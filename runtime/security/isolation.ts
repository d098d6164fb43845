/**
 * The isolation checks of one start, in one place for the composition root: sessions vs
 * containers (session-exposure.ts), the host firewall (host-firewall.ts), and what the admin
 * page shows about both (security-status.ts).
 */
import type { Config } from '../config.ts';
import type { DockerodeEngine } from '../docker/dockerode-engine.ts';
import type { Logger } from '../logger.ts';
import type { PoolRuntime } from '../pool/pool-runtime.ts';
import { CHAIN, installHostFirewall, probeHostFromContainer, type FirewallInstall } from './host-firewall.ts';
import { SecurityStatus } from './security-status.ts';
import { exposureMessage, sessionExposure } from './session-exposure.ts';

export class Isolation {
  readonly status: SecurityStatus;
  private firewall: FirewallInstall | null = null;
  private probing: Promise<void> | null = null;

  constructor(
    private readonly config: Config,
    private readonly log: Logger,
  ) {
    this.status = new SecurityStatus(log);
    const reasons = sessionExposure(config);
    if (reasons.length) this.status.warn('sessions-exposed', exposureMessage(reasons), { reasons });
  }

  /** Before the pool starts: install the host firewall where Pooldeck may (root). */
  async prepareHost(): Promise<void> {
    this.firewall = await installHostFirewall(this.log);
    if (!this.firewall.installed) this.log.info('host.firewall.not_installed', { reason: this.firewall.reason });
  }

  /** After the pool started, in the background: does the host answer a container at the gateway? */
  verifyHost(engine: DockerodeEngine, runtime: PoolRuntime): void {
    this.probing = (async () => {
      const slot = runtime.slots().find((s) => s.containerId && s.state === 'available') ?? runtime.slots().find((s) => s.containerId);
      const gateway = await engine.networkGateway();
      if (!slot?.containerId || !gateway) return;
      const { reachable } = await probeHostFromContainer((cmd) => engine.exec(slot.containerId!, cmd), gateway);
      if (reachable === true) {
        const why = this.firewall && !this.firewall.installed ? ` (${this.firewall.reason})` : '';
        this.status.warn(
          'host-firewall-missing',
          `Pool containers can reach services of this host: a listener on 0.0.0.0 answered a container at the pool network's gateway ${gateway}${why}. ` +
            `Install the host firewall: run ops/scripts/host-firewall.sh as root (the Ansible role installs it as a boot-time unit), or start Pooldeck as root once; see docs/security.md.`,
          { gateway, bridge: engine.bridge, chain: CHAIN },
        );
      } else if (reachable === false) {
        this.status.clear('host-firewall-missing');
        this.log.info('host.firewall.verified', { gateway, bridge: engine.bridge });
      } else this.log.info('host.firewall.unverified', { reason: `no bash or nc in ${slot.name} to try with` });
    })().catch((error) => this.log.debug('host.firewall.probe_failed', { error: (error as Error).message }));
  }

  async close(): Promise<void> {
    await this.probing;
  }
}
