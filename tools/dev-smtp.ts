/**
 * A mail sink for trying Herald out: an SMTP server on 127.0.0.1 (port
 * SMTP_PORT, default 2525) that accepts every message and prints who it is
 * for and its subject. Nothing is delivered anywhere.
 *
 *   npm run dev:smtp
 */
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';

const port = Number(process.env.SMTP_PORT ?? 2525);
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ['STARTTLS'],
  logger: false,
  onData(stream, session, callback) {
    simpleParser(stream).then((mail) => {
      const to = session.envelope.rcptTo.map((r) => r.address).join(', ');
      process.stdout.write(`${new Date().toISOString()}  to ${to}  subject "${mail.subject ?? ''}"\n${(mail.text ?? '').trim().split('\n').map((l) => `    ${l}`).join('\n')}\n`);
      callback();
    }, callback);
  },
});
server.listen(port, '127.0.0.1', () => process.stdout.write(`dev SMTP sink listening on 127.0.0.1:${port}: messages are printed, not delivered\n`));
