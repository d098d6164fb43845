/**
 * What an operator must fix about this installation's isolation, as found at start (sessions
 * exposed to containers, host firewall missing). Each warning is logged once at `warn` and kept
 * for the admin page (GET /api/admin/security).
 */
import type { Logger } from '../logger.ts';

export interface SecurityWarning {
  /** Stable id: `sessions-exposed`, `host-firewall-missing`. */
  id: string;
  message: string;
}

export class SecurityStatus {
  private readonly warnings = new Map<string, SecurityWarning>();

  constructor(private readonly log: Logger) {}

  warn(id: string, message: string, fields: Record<string, unknown> = {}): void {
    this.warnings.set(id, { id, message });
    this.log.warn(`security.${id}`, { message, ...fields });
  }

  clear(id: string): void {
    this.warnings.delete(id);
  }

  list(): SecurityWarning[] {
    return [...this.warnings.values()];
  }
}
