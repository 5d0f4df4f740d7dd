import { createInterface } from 'node:readline';
import { Command } from 'commander';
import { CliError, reportCliError } from './cli-error.js';
import { createPublisher, type HubPublisher } from './hub-publisher.js';
import { addHubOptions, hubTarget, type HubFlags } from './hub-target.js';

/** Most lines `herald publish` sends in one request (the hub's default `maxBatchMessages`). */
export const PUBLISH_BATCH_LINES = 100;
/** Most bytes of JSON `herald publish` sends in one request, well under the hub's default body limit (1 MiB). */
export const PUBLISH_BATCH_BYTES = 256 * 1024;

/** Where `herald publish` reads and writes. */
export interface PublishIo {
  readonly stdin: NodeJS.ReadableStream;
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
}

function parseJson(text: string): { ok: true; value: unknown } | { ok: false; reason: string } {
  try {
    return { ok: true, value: JSON.parse(text) as unknown };
  } catch (error) {
    return { ok: false, reason: (error as Error).message };
  }
}

interface Line {
  readonly number: number;
  readonly value: unknown;
}

const IDLE = Symbol('idle');
/** Resolves after the I/O already waiting: lines read from a file come before it, a pipe's next write after. */
const idle = (): Promise<typeof IDLE> => new Promise((resolve) => setImmediate(() => resolve(IDLE)));

/**
 * Publishes one JSON value per line of `io.stdin`, in order, in batches of the lines at hand (at
 * most {@link PUBLISH_BATCH_LINES} and {@link PUBLISH_BATCH_BYTES}): a file goes in batches, a pipe
 * is sent as soon as it pauses. Prints each stored position. Blank lines are skipped. A line that
 * is not JSON, or that the hub refuses for what it holds (1000–1999), is reported with its number
 * and skipped, and the rest go on (the exit code is then 1). Anything that concerns every line
 * (the hub unreachable, the credential or channel refused) stops: nothing after that batch is sent.
 */
export async function publishLines(channel: string, publisher: HubPublisher, io: PublishIo): Promise<number> {
  const lines = createInterface({ input: io.stdin, crlfDelay: Infinity })[Symbol.asyncIterator]();
  const skipped: string[] = [];
  let batch: Line[] = [];
  let bytes = 0;
  const flush = async (): Promise<void> => {
    const sent = batch;
    batch = [];
    bytes = 0;
    if (sent.length === 0) return;
    let outcomes;
    try {
      outcomes = await publisher.publish(
        channel,
        sent.map((line) => line.value),
      );
    } catch (error) {
      if (!(error instanceof CliError)) throw error;
      throw new CliError(
        `line ${sent[0]!.number}: ${error.message}; stopped: line ${sent[0]!.number} and the lines after it were not published`,
      );
    }
    let final: string | undefined;
    outcomes.forEach((outcome, i) => {
      const { number } = sent[i]!;
      if ('position' in outcome) {
        io.stdout.write(`${JSON.stringify(outcome.position)}\n`);
        return;
      }
      skipped.push(`${number} (refused)`);
      io.stderr.write(`herald: line ${number}: the hub refused it: ${outcome.refused}\n`);
      if (outcome.final) final ??= `line ${number}: the hub refused it: ${outcome.refused}`;
    });
    const last = sent.at(-1)!.number;
    if (final !== undefined) throw new CliError(`${final}; stopped after line ${last}: the lines after it were not published`);
  };
  let lineNumber = 0;
  try {
    let next = lines.next();
    for (;;) {
      const read = batch.length === 0 ? await next : await Promise.race([next, idle()]);
      if (read === IDLE) {
        await flush();
        continue;
      }
      if (read.done === true) break;
      next = lines.next();
      const text = read.value;
      lineNumber++;
      if (text.trim() === '') continue;
      const parsed = parseJson(text);
      if (!parsed.ok) {
        skipped.push(`${lineNumber} (not JSON)`);
        io.stderr.write(`herald: line ${lineNumber} is not valid JSON, skipped: ${parsed.reason}\n`);
        continue;
      }
      if (batch.length > 0 && bytes + text.length > PUBLISH_BATCH_BYTES) await flush();
      batch.push({ number: lineNumber, value: parsed.value });
      bytes += text.length;
      if (batch.length >= PUBLISH_BATCH_LINES) await flush();
    }
    await flush();
  } finally {
    await lines.return?.();
  }
  if (skipped.length === 0) return 0;
  io.stderr.write(`herald: ${skipped.length} line(s) not published: ${skipped.join(', ')}\n`);
  return 1;
}

/** `herald publish <channel> [json]`; `run` receives the outcome (the exit code). */
export function publishCommand(run: (outcome: Promise<number>) => void, io: PublishIo = process): Command {
  const command = new Command('publish')
    .description('publish a JSON value to a channel, or one JSON value per line of stdin; prints each stored position')
    .argument('<channel>', 'the channel, e.g. chat:lobby')
    .argument('[json]', 'the message data as JSON (quote strings: \'"hello"\'); absent: read stdin');
  addHubOptions(command).addHelpText(
    'after',
    `
Prints the position of each message as the hub answered it, one JSON line each:
  {"channel":"chat:lobby","epoch":"Xd-gMAMIAZVj","offset":1}

Reading stdin, blank lines are skipped. A line that is not JSON, or that the hub refuses for what
it holds (codes 1000-1999: too large, nested too deeply), is reported with its number and skipped:
the others are published, and the exit code is 1. A failure that concerns every line (the hub
unreachable after the retries, the key refused 2000, the channel not allowed 2001, the engine
unavailable 3001) stops the command: that line and the lines after it are not sent.

Examples:
  $ herald publish chat:lobby '{"text":"hello"}'
  $ herald publish news '"plain string"' --url https://hub.example.com --key "$HERALD_API_KEY"
  $ herald publish chat:lobby < messages.jsonl
  $ tail -f app.log.jsonl | herald publish logs`,
  );
  return command.action((channel: string, json: string | undefined, flags: HubFlags) => {
    // A reader of the positions gone (`| head -1`) ends the command quietly, as a closed pipe ends any filter.
    io.stdout.on('error', () => process.exit(0));
    run(
      (async () => {
        try {
          const publisher = createPublisher(hubTarget(flags));
          if (json === undefined) return await publishLines(channel, publisher, io);
          const parsed = parseJson(json);
          if (!parsed.ok) throw new CliError(`the message is not valid JSON (${parsed.reason}); quote a string as '"text"'`);
          const [outcome] = await publisher.publish(channel, [parsed.value]);
          if (outcome === undefined || !('position' in outcome))
            throw new CliError(`the hub refused the publish: ${outcome?.refused ?? 'no answer'}`);
          io.stdout.write(`${JSON.stringify(outcome.position)}\n`);
          return 0;
        } catch (error) {
          return reportCliError(error, io.stderr);
        }
      })(),
    );
  });
}
