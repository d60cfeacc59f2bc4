import { strategyTest, USAGE } from './strategy-test';

/** `herald` command line: tools for campaign owners. Subcommands: `strategy test`. */
async function main(argv: string[]): Promise<number> {
  const [group, command, ...rest] = argv;
  if (group === 'strategy' && command === 'test') return strategyTest(rest);
  process.stderr.write(`${group === undefined || group === '--help' || group === '-h' ? '' : `unknown command: ${argv.slice(0, 2).join(' ')}\n\n`}${USAGE}\n`);
  return group === '--help' || group === '-h' ? 0 : 2;
}

main(process.argv.slice(2)).then(
  (code) => { process.exitCode = code; },
  (error: Error) => {
    process.stderr.write(`herald: ${error.stack ?? error.message}\n`);
    process.exitCode = 1;
  },
);
