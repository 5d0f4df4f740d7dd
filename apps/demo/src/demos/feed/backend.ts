import { ErrorCode } from '@herald/protocol';
import type { DemoAnswer, DemoBackend, DemoPublisher, DemoRequest } from '../../demo.js';
import { PublishTracker } from '../../publish-tracker.js';

/** How often the simulator posts to the feed {@link SIMULATED_FEED}, in ms. */
export const DEFAULT_FEED_INTERVAL = 4000;

/** The feed the simulator posts to (the page's default). */
export const SIMULATED_FEED = 'main';

/** A feed name: the page's `?feed=`, part of the channel name. */
const FEED = /^[a-z0-9-]{1,40}$/;

/** The channel of feed `name`. */
export const feedChannel = (name: string): string => `feed:${name}`;

/** One post as published. */
export interface Post {
  readonly author: string;
  readonly text: string;
  readonly source: 'form' | 'simulator';
}

const SAMPLES: readonly (readonly [string, string])[] = [
  ['Ada', 'Shipped the new release notes. Feedback welcome!'],
  ['Grace', 'Reminder: the build farm is down for maintenance at 18:00.'],
  ['Linus', 'Rebased the storage branch; conflicts are gone.'],
  ['Margaret', 'Lunch talk today: how we test the resume path.'],
  ['Ken', 'Latency p99 is back under 40 ms after the fix.'],
  ['Barbara', 'New office plants arrived. Please water them.'],
];

function invalid(message: string): DemoAnswer {
  return { status: 400, body: { error: { code: ErrorCode.InvalidField, message } } };
}

const text = (value: unknown, max: number): string | undefined => {
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  return trimmed.length > 0 && trimmed.length <= max ? trimmed : undefined;
};

/**
 * The feed backend: `POST api/post {feed, author, text}` publishes a post to `feed:<feed>` (author
 * 1–40 characters, text 1–280, feed lowercase letters, digits and `-`) and answers its offset; the
 * simulator posts one of a few samples to `feed:main` every `interval` ms while the demo is served.
 */
export function feedBackend(interval = DEFAULT_FEED_INTERVAL): DemoBackend {
  let next = 0;
  const publishes = new PublishTracker();
  let timer: ReturnType<typeof setInterval> | undefined;

  return {
    routes: {
      'api/post': {
        method: 'POST',
        async handle({ body, publisher }: DemoRequest): Promise<DemoAnswer> {
          const fields = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
          const feed = fields['feed'] ?? SIMULATED_FEED;
          if (typeof feed !== 'string' || !FEED.test(feed)) return invalid('feed must be 1-40 lowercase letters, digits or -');
          const author = text(fields['author'], 40);
          if (author === undefined) return invalid('author must be 1-40 characters');
          const post = text(fields['text'], 280);
          if (post === undefined) return invalid('text must be 1-280 characters');
          const data: Post = { author, text: post, source: 'form' };
          const position = await publisher.publish(feedChannel(feed), data);
          return { status: 200, body: { offset: position.offset } };
        },
      },
    },
    simulator: {
      start(publisher: DemoPublisher) {
        timer ??= setInterval(() => {
          const [author, body] = SAMPLES[next++ % SAMPLES.length]!;
          const post: Post = { author, text: body, source: 'simulator' };
          publishes.track(publisher.publish(feedChannel(SIMULATED_FEED), post));
        }, interval);
        timer.unref();
      },
      async stop() {
        if (timer !== undefined) clearInterval(timer);
        timer = undefined;
        await publishes.settled();
      },
    },
  };
}
