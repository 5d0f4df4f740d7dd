import { createClient, type HeraldClient, type Subscription, type TransportName } from '@herald/client/node';
import { checkChannelName, encodeCursor, ErrorCode, parseCursor, type CursorEntry } from '@herald/protocol';
import { Command, Option } from 'commander';
import { apiKeyTransports } from './api-key-transports.js';
import { CliError, reportCliError } from './cli-error.js';
import { addHubOptions, hubTarget, unreachable, type HubFlags, type HubTarget } from './hub-target.js';
import { formatTailEvent, type TailEvent } from './tail-output.js';

interface TailFlags extends HubFlags {
  since?: string;
  transport?: TransportName;
  json?: boolean;
  token?: string;
  presence: boolean;
}

/** How long `herald tail` waits for the hub to answer its first request, in ms. */
export const TAIL_CHECK_TIMEOUT_MS = 10_000;

/**
 * Asks the hub, before anything is subscribed, the question the SDK's first request asks
 * (`GET /api/messages?since=now` for the channels, with the credential): an unreachable hub or a
 * refused credential ends the command with a clear error instead of endless reconnects.
 */
async function checkAccess(target: HubTarget, channels: readonly string[], token: string | undefined, stop: AbortSignal): Promise<void> {
  const params = new URLSearchParams(channels.map((channel): [string, string] => ['channel', channel]));
  params.set('since', 'now');
  let res: Response;
  try {
    res = await fetch(`${target.url}/api/messages?${params.toString()}`, {
      headers: {
        ...(token !== undefined ? { authorization: `Bearer ${token}` } : target.key !== undefined && { 'x-herald-key': target.key }),
      },
      signal: AbortSignal.any([AbortSignal.timeout(TAIL_CHECK_TIMEOUT_MS), stop]),
    });
  } catch (error) {
    if (stop.aborted) return;
    throw unreachable(target.url, error);
  }
  const body = (await res.json().catch(() => undefined)) as { error?: { code?: number; message?: string } } | undefined;
  if (stop.aborted) return;
  const code = body?.error?.code;
  // Only a refusal of the credential or the channels is final; anything else is left to the SDK.
  if (
    code === ErrorCode.Unauthorized ||
    code === ErrorCode.Forbidden ||
    code === ErrorCode.TokenExpired ||
    code === ErrorCode.InvalidChannel
  ) {
    throw new CliError(`the hub at ${target.url} refused: ${code} ${body?.error?.message ?? ''} (HTTP ${res.status})`);
  }
}

/** Where `herald tail` writes. */
export interface TailIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  /** Resolves when the user asks to stop (Ctrl-C). */
  readonly interrupted: Promise<void>;
}

/**
 * Subscribes to `channels` with the client SDK and prints every message, gap and join/leave as it
 * arrives; resolves with 0 once `io.interrupted` resolves, after printing the cursor to resume
 * from (per channel the position of the last message printed or, where none arrived, where the
 * subscription started; hub-signed where the hub signs them),
 * or with 1 when every subscription was refused or the client stopped.
 */
export async function tail(channels: readonly string[], flags: TailFlags, io: TailIo): Promise<number> {
  const target = hubTarget(flags);
  for (const channel of channels) {
    const checked = checkChannelName(channel);
    if (!checked.ok) throw new CliError(`"${channel}": ${checked.error.message}`);
  }
  let since: Map<string, CursorEntry> | undefined;
  if (flags.since !== undefined) {
    const parsed = parseCursor(flags.since);
    if (!parsed.ok) throw new CliError(`--since: ${parsed.error.message} (pass the cursor herald tail printed, or one from any transport)`);
    since = parsed.value;
  }
  const token = flags.token !== undefined && flags.token !== '' ? flags.token : undefined;
  const print = (event: TailEvent): void => {
    io.stdout.write(`${formatTailEvent(event, flags.json === true)}\n`);
  };
  /** Ctrl-C: the cursor to resume from (`positions`, per channel), or a note that there is none yet. */
  const stopWith = (positions: ReadonlyMap<string, CursorEntry>): number => {
    if (positions.size > 0) print({ kind: 'cursor', cursor: encodeCursor(positions), channels });
    else io.stderr.write('herald: no position to resume from yet (nothing was subscribed)\n');
    return 0;
  };

  // Ctrl-C while the hub has not answered yet (up to TAIL_CHECK_TIMEOUT_MS) stops at once.
  const interrupt = new AbortController();
  void io.interrupted.then(() => interrupt.abort());
  await checkAccess(target, channels, token, interrupt.signal);
  if (interrupt.signal.aborted) return stopWith(new Map([...(since ?? [])].filter(([channel]) => channels.includes(channel))));

  const client: HeraldClient = createClient({
    url: target.url,
    ...(flags.transport !== undefined && { transports: [flags.transport] }),
    ...(token !== undefined ? { token } : target.key !== undefined && apiKeyTransports(target.key)),
  });
  let stopping = false;
  const subscriptions: Subscription[] = [];
  const outcome = new Promise<number>((resolve) => {
    let refused = 0;
    client.on('state', (state) => {
      if (state === 'reconnecting') io.stderr.write(`herald: connection to ${target.url} lost, reconnecting\n`);
      if (state === 'closed' && !stopping) resolve(1);
    });
    client.on('error', (error) => io.stderr.write(`herald: ${error.code} ${error.message}\n`));
    let announced = false;
    for (const channel of channels) {
      const subscription = client.subscribe(channel, (envelope) => print({ kind: 'message', envelope }), {
        since: since?.get(channel),
        joinLeave: flags.presence,
      });
      subscription.on('gap', (gap) => print({ kind: 'gap', gap }));
      subscription.on('presence', (change) => print({ kind: 'presence', change }));
      subscription.on('error', (error) => {
        const hint = error.code === ErrorCode.Forbidden && flags.presence ? ' (without presence rights, add --no-presence)' : '';
        io.stderr.write(`herald: ${channel}: ${error.code} ${error.message}${hint}\n`);
        if (++refused === channels.length) resolve(1);
      });
      subscription.on('state', () => {
        if (announced || subscriptions.length < channels.length || !subscriptions.every((s) => s.state === 'subscribed')) return;
        announced = true;
        io.stderr.write(
          `herald: tailing ${channels.join(', ')} on ${target.url} over ${client.transport ?? '?'} (Ctrl-C prints the cursor and stops)\n`,
        );
      });
      subscriptions.push(subscription);
    }
    void io.interrupted.then(() => {
      stopping = true;
      // The position of the last message printed per channel; where none arrived, where it started.
      const positions = new Map<string, CursorEntry>();
      for (const subscription of subscriptions) {
        const position = subscription.position ?? since?.get(subscription.channel);
        if (position !== undefined) positions.set(subscription.channel, position);
      }
      resolve(stopWith(positions));
    });
  });
  try {
    return await outcome;
  } finally {
    stopping = true;
    client.close();
  }
}

/** `herald tail <channel...>`; `run` receives the outcome (the exit code). */
export function tailCommand(run: (outcome: Promise<number>) => void): Command {
  const command = new Command('tail')
    .description('subscribe to channels and print messages, gaps and joins/leaves as they arrive; Ctrl-C prints the cursor to resume from')
    .argument('<channel...>', 'one or more channels')
    .option('-s, --since <cursor>', 'resume after this cursor (the one a previous tail printed, or any Herald cursor)')
    .addOption(
      new Option('-t, --transport <transport>', 'force one transport [default: websocket, falling back to sse, polling]').choices([
        'websocket',
        'sse',
        'polling',
      ]),
    )
    .option('--json', 'one JSON object per line: the envelope, {"type":"gap",…}, {"type":"join"|"leave",…}, {"type":"cursor",…}')
    .option('--no-presence', 'do not ask for joins and leaves (for a credential without presence rights)')
    .addOption(new Option('--token <jwt>', 'a token to subscribe with instead of the API key').env('HERALD_TOKEN'));
  addHubOptions(command).addHelpText(
    'after',
    `
Pretty lines are "<channel> <epoch>:<offset> <data as JSON>"; a gap is
"<channel> gap (<reason>): cannot resume after <epoch>:<offset>, resuming after <epoch>:<offset>".
On Ctrl-C (SIGINT) tail prints "cursor: c1.…" (with --json: {"type":"cursor","cursor":"c1.…"}),
the positions of the last messages printed (where no message arrived: where the channel's
subscription started), and exits 0: pass it to --since to get exactly the messages published
since, on every channel.

Examples:
  $ herald tail chat:lobby
  $ herald tail chat:lobby news --json | jq .data
  $ herald tail chat:lobby --since c1.Y2hhdDpsb2JieXxYZC1nTUFNSUFaVmp8NDI --transport sse
  $ herald tail 'inbox:alice' --token "$(herald token --config herald.config.json --sub alice --grant 'inbox:alice=subscribe')" --no-presence`,
  );
  return command.action((channels: string[], flags: TailFlags) => {
    run(
      (async () => {
        // The first Ctrl-C stops with the cursor; a second one, while stopping, exits at once.
        const interrupted = new Promise<void>((resolve) =>
          process.once('SIGINT', () => {
            process.once('SIGINT', () => process.exit(130));
            resolve();
          }),
        );
        // A reader gone (`| head`) ends the command quietly.
        process.stdout.on('error', () => process.exit(0));
        try {
          return await tail(channels, flags, { stdout: process.stdout, stderr: process.stderr, interrupted });
        } catch (error) {
          return reportCliError(error);
        }
      })(),
    );
  });
}
