/** Test files use their own QUEUE_PREFIX on the shared Redis; this removes a prefix's keys afterwards. */
import { Redis } from 'ioredis';
import { testRedisUrl } from './env';

export async function deleteQueueKeys(prefix: string): Promise<void> {
  const redis = new Redis(testRedisUrl(), { maxRetriesPerRequest: 1 });
  try {
    for await (const keys of redis.scanStream({ match: `${prefix}:*`, count: 500 }) as AsyncIterable<string[]>) {
      if (keys.length) await redis.unlink(...keys);
    }
  } finally {
    await redis.quit();
  }
}
