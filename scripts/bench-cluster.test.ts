import { describe, expect, it } from 'vitest';
import { CLUSTER_HELP, ENGINES, readClusterOptions } from '../bench/lib/cluster-args.mjs';
import { attribute, channelNames } from '../bench/lib/cluster-roundtrips.mjs';

// bench:cluster's argument parsing and MONITOR attribution (no run: that takes minutes and servers).
describe('bench:cluster arguments', () => {
  it('measures every node count on every engine, memory once, engines in a fixed order', () => {
    const options = readClusterOptions(['--nodes', '1,2,memory', '--engines', 'nats-r3,redis'], ENGINES);
    expect(options.help).toBe(false);
    if (options.help) return;
    expect(options.configs.map((c) => c.name)).toEqual([
      'memory',
      'redis, 1 node',
      'redis, 2 nodes',
      'nats-r3, 1 node',
      'nats-r3, 2 nodes',
    ]);
  });

  it('defaults to the engines that can be spawned here', () => {
    const options = readClusterOptions([], ['redis', 'nats']);
    expect(options.help ? undefined : options.engines).toEqual(['redis', 'nats']);
  });

  it.each([
    [['--engines', 'postgres'], '"postgres" is not one of'],
    [['--engines', 'nats,nats'], 'lists an engine twice'],
    [['--nodes', '1,1'], 'lists a configuration twice'],
    [['--nodes', '17'], 'is not a node count'],
  ])('refuses %j', (argv, message) => {
    expect(() => readClusterOptions(argv, ENGINES)).toThrow(message);
  });

  it('--help names every engine', () => {
    for (const engine of ENGINES) expect(CLUSTER_HELP).toContain(`  ${engine} `);
  });
});

describe('bench:cluster MONITOR attribution', () => {
  it('on a cluster: the hash-tagged live channel, SPUBLISH in the script, the 3-key publish script', () => {
    const names = channelNames('c1', { clustered: true });
    expect(names.live).toBe('herald:live:{c1}');
    const lines = [
      '1.0 [0 127.0.0.1:5000] "INFO"',
      `1.1 [0 127.0.0.1:6000] "EVALSHA" "abc" "3" "herald:{c1}:meta" "herald:{c1}:log" "herald:{c1}:log" ${'"x" '.repeat(13)}`,
      '1.2 [0 lua] "INFO" "replication"',
      '1.3 [0 lua] "SPUBLISH" "herald:live:{c1}" "1 e 1 {}"',
      '1.4 [0 127.0.0.1:6000] "SPUBLISH" "herald:live:{c1}" "p{}"',
      '1.5 [0 127.0.0.1:7000] "PING"',
      '1.6 [0 127.0.0.1:5000] "INFO"',
    ];
    const seen = attribute(lines, 'c1', '127.0.0.1:5000', true);
    expect(seen.complete).toBe(true);
    expect(seen.ours.publish).toMatchObject({ calls: 1, innerCalls: 2, inner: { INFO: 1, SPUBLISH: 1 } });
    expect(seen.ours['presence event']?.calls).toBe(1);
    expect(seen.others.calls).toBe(1);
  });
});
