import { ended, type ChannelAdapter, type StartResult } from './channel-adapter';

/** The seeds' "No Communication": a terminal stage that completes at once without contacting anyone. */
export class NoCommunicationAdapter implements ChannelAdapter {
  readonly channel = 'no_communication';
  readonly restartable = true;

  async start(): Promise<StartResult> {
    return ended('COMPLETED', 'NO_COMMUNICATION', null);
  }
}
