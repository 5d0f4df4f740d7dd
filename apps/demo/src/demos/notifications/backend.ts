import { ErrorCode } from '@herald/protocol';
import type { DemoAnswer, DemoBackend, DemoPublisher, DemoRequest } from '../../demo.js';
import { PublishTracker } from '../../publish-tracker.js';

/** How often the simulator sends a notification to each user who turned it on, in ms. */
export const DEFAULT_SIMULATOR_INTERVAL = 5000;

/** A user id the demo accepts: the page makes one up and keeps it in `localStorage`. */
const USER = /^[A-Za-z0-9_-]{1,64}$/;

/** The channel of `user`'s notifications. */
export const notificationChannel = (user: string): string => `notifications:${user}`;

/** One notification as published. */
export interface Notification {
  /** Counts up per backend, so a page can tell two apart. */
  readonly id: number;
  readonly title: string;
  readonly body: string;
  readonly source: 'button' | 'simulator';
}

const SAMPLES: readonly (readonly [string, string])[] = [
  ['New comment', 'Ada replied to your post: "Looks good to me."'],
  ['Build passed', 'main is green again (2 m 14 s).'],
  ['Order shipped', 'Your order #1042 left the warehouse.'],
  ['Mention', 'Linus mentioned you in #release.'],
  ['Reminder', 'Stand-up starts in 5 minutes.'],
];

function invalid(message: string): DemoAnswer {
  return { status: 400, body: { error: { code: ErrorCode.InvalidField, message } } };
}

function userOf(body: unknown): string | undefined {
  const user = (body as { user?: unknown } | undefined)?.user;
  return typeof user === 'string' && USER.test(user) ? user : undefined;
}

/**
 * The notifications backend: `POST api/send {user}` publishes one notification to the user's
 * channel; `POST api/auto {user, on}` adds or removes the user from the simulator, which sends
 * each of them one every `interval` ms while the demo is served.
 */
export function notificationsBackend(interval = DEFAULT_SIMULATOR_INTERVAL): DemoBackend {
  let next = 1;
  const auto = new Set<string>();
  const publishes = new PublishTracker();
  let timer: ReturnType<typeof setInterval> | undefined;

  const make = (source: Notification['source']): Notification => {
    const id = next++;
    const [title, body] = SAMPLES[(id - 1) % SAMPLES.length]!;
    return { id, title, body, source };
  };

  return {
    routes: {
      'api/send': {
        method: 'POST',
        async handle({ body, publisher }: DemoRequest): Promise<DemoAnswer> {
          const user = userOf(body);
          if (user === undefined) return invalid('user must be 1-64 letters, digits, _ or -');
          const notification = make('button');
          const position = await publisher.publish(notificationChannel(user), notification);
          return { status: 200, body: { notification, offset: position.offset } };
        },
      },
      'api/auto': {
        method: 'POST',
        handle({ body }: DemoRequest): Promise<DemoAnswer> {
          const user = userOf(body);
          const on = (body as { on?: unknown } | undefined)?.on;
          if (user === undefined) return Promise.resolve(invalid('user must be 1-64 letters, digits, _ or -'));
          if (typeof on !== 'boolean') return Promise.resolve(invalid('on must be true or false'));
          if (on) auto.add(user);
          else auto.delete(user);
          return Promise.resolve({ status: 200, body: { user, on, interval } });
        },
      },
    },
    simulator: {
      start(publisher: DemoPublisher) {
        timer ??= setInterval(() => {
          for (const user of auto) publishes.track(publisher.publish(notificationChannel(user), make('simulator')));
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
