/** A FakeEngine with nodes, as a Swarm looks to the pool: slots pinned to nodes, files copied, node news. For unit tests only. */
import type { NodeStatus } from '../../machines/types.ts';
import type { RunSpec } from '../../runtime/docker/engine.ts';
import { FakeEngine } from './fake-engine.ts';

export class FakeCluster extends FakeEngine {
  readonly nodeList: NodeStatus[];
  readonly copies: Array<{ id: string; node: string | undefined; names?: string[]; replace?: boolean }> = [];
  private nodeListeners: Array<(nodes: NodeStatus[]) => void> = [];

  constructor(nodes: NodeStatus[]) {
    super();
    this.nodeList = nodes;
  }

  async nodes(): Promise<NodeStatus[]> {
    this.calls.push({ op: 'nodes', target: '*' });
    return structuredClone(this.nodeList);
  }

  watchNodes(onNodes: (nodes: NodeStatus[]) => void) {
    this.nodeListeners.push(onNodes);
    return () => {
      this.nodeListeners = this.nodeListeners.filter((l) => l !== onNodes);
    };
  }

  override async run(spec: RunSpec): Promise<string> {
    const node = this.nodeList.find((n) => n.name === spec.node);
    if (!node) throw new Error(`${spec.name}: a cluster slot needs a node`);
    if (node.state === 'down') throw new Error(`${spec.name}: node ${node.name} is down`);
    if (node.state === 'drain') throw new Error(`${spec.name}: node ${node.name} is drained`);
    return super.run(spec);
  }

  override async start(id: string) {
    this.calls.push({ op: 'start', target: id });
    throw new Error(`${id}: a finished task is not restarted`);
  }

  async putFiles(id: string, _source: string, _target: string, options: { names?: string[]; replace?: boolean } = {}) {
    this.calls.push({ op: 'putFiles', target: id });
    this.copies.push({ id, node: this.containers.get(id)?.spec.node, ...options });
  }

  async deleteFiles(id: string) {
    this.calls.push({ op: 'deleteFiles', target: id });
  }

  /**
   * The manager marks a node: its containers stop being reported as running when it is down; a
   * drain shuts every task of the node down (their deaths come from the node's engine) unless
   * `keepTasks` (to test what the pool does with held slots whose containers survive a drain).
   */
  setNode(name: string, state: NodeStatus['state'], options: { keepTasks?: boolean } = {}) {
    this.nodeList.find((n) => n.name === name)!.state = state;
    if (state === 'down') for (const c of this.containers.values()) if (c.spec.node === name) c.running = false;
    const nodes = structuredClone(this.nodeList);
    this.nodeListeners.forEach((l) => l(nodes));
    if (state === 'drain' && !options.keepTasks) for (const c of [...this.containers.values()]) if (c.spec.node === name && c.running) this.kill(c.name);
  }
}
