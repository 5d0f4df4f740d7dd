import { MemoryWebhookQueue } from '@herald/server';
import { runWebhookQueueContract } from '@herald/testkit';

// One process's memory: two queues never share events.
runWebhookQueueContract('memory', () => Promise.resolve(new MemoryWebhookQueue()), false);
