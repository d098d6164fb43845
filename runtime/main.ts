/** `npm start`: the Pooldeck server process. */
import { ConfigError, loadConfig } from './config.ts';
import { startPooldeck } from './server.ts';

async function main() {
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`pooldeck: configuration error: ${error.message}`);
      process.exit(2);
    }
    throw error;
  }
  try {
    const deck = await startPooldeck(config);
    let stopping = false;
    const shutdown = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      deck.log.info('shutdown', { signal });
      await deck.stop();
      process.exit(0);
    };
    process.on('SIGINT', () => void shutdown('SIGINT'));
    process.on('SIGTERM', () => void shutdown('SIGTERM'));
  } catch (error) {
    console.error(`pooldeck: could not start: ${(error as Error).message}`);
    process.exit(1);
  }
}

void main();
