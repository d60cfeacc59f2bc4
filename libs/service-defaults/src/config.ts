/** Configuration from the environment, read once at start-up. */
export interface HeraldConfig {
  /** 'embedded': every service in one process on PGlite and the event log as bus; 'distributed': one service per process, PostgreSQL and Kafka. */
  readonly mode: 'embedded' | 'distributed';
  readonly port: number;
  readonly dataDir: string;
  readonly databaseUrl: string | null;
  readonly kafkaBrokers: string[];
  readonly kafkaTopicPrefix: string;
  readonly workspaceId: string;
  readonly grpc: Record<'campaigns' | 'ingestion' | 'strategies' | 'scheduler' | 'dispatch', string>;
  readonly strategyWorkers: number;
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): HeraldConfig {
  const databaseUrl = env.DATABASE_URL || null;
  const kafkaBrokers = (env.KAFKA_BROKERS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  if (Boolean(databaseUrl) !== kafkaBrokers.length > 0) {
    throw new Error('Set both DATABASE_URL and KAFKA_BROKERS for the distributed mode, or neither for the embedded mode.');
  }
  return {
    mode: databaseUrl ? 'distributed' : 'embedded',
    port: Number(env.PORT ?? 3000),
    dataDir: env.HERALD_DATA_DIR ?? './.herald',
    databaseUrl,
    kafkaBrokers,
    kafkaTopicPrefix: env.KAFKA_TOPIC_PREFIX ?? '',
    workspaceId: env.HERALD_WORKSPACE_ID ?? 'default',
    grpc: {
      campaigns: env.CAMPAIGNS_GRPC_URL ?? '127.0.0.1:50051',
      ingestion: env.INGESTION_GRPC_URL ?? '127.0.0.1:50052',
      strategies: env.STRATEGIES_GRPC_URL ?? '127.0.0.1:50053',
      scheduler: env.SCHEDULER_GRPC_URL ?? '127.0.0.1:50054',
      dispatch: env.DISPATCH_GRPC_URL ?? '127.0.0.1:50055',
    },
    strategyWorkers: Number(env.HERALD_STRATEGY_WORKERS ?? 2),
  };
}
