import { createInterface } from 'node:readline';
import { Command } from 'commander';
import { CliError, reportCliError } from './cli-error.js';
import { createPublisher, type Publish } from './hub-publisher.js';
import { addHubOptions, hubTarget, type HubFlags } from './hub-target.js';

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

const printPosition = (io: PublishIo, position: object): void => {
  io.stdout.write(`${JSON.stringify(position)}\n`);
};

/**
 * Publishes one JSON value per line of `io.stdin`, in order, one at a time. Blank lines are
 * skipped. A line that is not JSON is reported with its number and skipped, and the rest go on (the
 * exit code is then 1). The first failure of the hub (unreachable, a refusal) stops: what follows
 * is not sent, so a replay never has a hole the hub made.
 */
export async function publishLines(channel: string, publish: Publish, io: PublishIo): Promise<number> {
  const lines = createInterface({ input: io.stdin, crlfDelay: Infinity });
  let number = 0;
  const bad: number[] = [];
  try {
    for await (const line of lines) {
      number++;
      if (line.trim() === '') continue;
      const parsed = parseJson(line);
      if (!parsed.ok) {
        bad.push(number);
        io.stderr.write(`herald: line ${number} is not valid JSON, skipped: ${parsed.reason}\n`);
        continue;
      }
      try {
        printPosition(io, await publish(channel, parsed.value));
      } catch (error) {
        if (!(error instanceof CliError)) throw error;
        throw new CliError(`line ${number}: ${error.message}; stopped: line ${number} and the lines after it were not published`);
      }
    }
  } finally {
    lines.close();
  }
  if (bad.length === 0) return 0;
  io.stderr.write(`herald: ${bad.length} line(s) not published (not JSON): ${bad.join(', ')}\n`);
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

Reading stdin, blank lines are skipped; a line that is not JSON is reported with its number and
skipped (the others are published, the exit code is 1); the first failure of the hub stops the
command (nothing after that line is sent).

Examples:
  $ herald publish chat:lobby '{"text":"hello"}'
  $ herald publish news '"plain string"' --url https://hub.example.com --key "$HERALD_API_KEY"
  $ herald publish chat:lobby < messages.jsonl
  $ tail -f app.log.jsonl | herald publish logs`,
  );
  return command.action((channel: string, json: string | undefined, flags: HubFlags) => {
    run(
      (async () => {
        try {
          const publish = createPublisher(hubTarget(flags));
          if (json === undefined) return await publishLines(channel, publish, io);
          const parsed = parseJson(json);
          if (!parsed.ok) throw new CliError(`the message is not valid JSON (${parsed.reason}); quote a string as '"text"'`);
          printPosition(io, await publish(channel, parsed.value));
          return 0;
        } catch (error) {
          return reportCliError(error, io.stderr);
        }
      })(),
    );
  });
}
