/**
 * The channels of the seeds' table, with the fields each requires ("Required
 * fields" in the seeds' "How to configure a stage" sections). `agent`: the
 * stage can have an agent; `agentRequired`: it must.
 */
export const CHANNELS = {
  email_notification: { label: 'Email Notification', agent: false, agentRequired: false, required: ['integration', 'subject', 'template'] },
  email_communication: { label: 'Email Communication', agent: true, agentRequired: true, required: ['subject', 'template'] },
  whatsapp: { label: 'WhatsApp', agent: true, agentRequired: false, required: ['startState', 'templateName'] },
  messagebird_whatsapp: { label: 'MessageBird (Whatsapp)', agent: true, agentRequired: true, required: ['projectId', 'version', 'startState'] },
  messagebird_webhook: { label: 'MessageBird Webhook (Whatsapp)', agent: true, agentRequired: false, required: [] },
  telegram: { label: 'Telegram', agent: true, agentRequired: true, required: [] },
  infobip: { label: 'Infobip', agent: true, agentRequired: false, required: [] },
  twilio: { label: 'Twilio', agent: true, agentRequired: true, required: ['startState'] },
  sip: { label: 'SIP (Session Initiation Protocol)', agent: true, agentRequired: true, required: [] },
  mobile_push: { label: 'Mobile Push', agent: true, agentRequired: false, required: [] },
  human: { label: 'Human', agent: true, agentRequired: false, required: [] },
  no_communication: { label: 'No Communication', agent: false, agentRequired: false, required: [] },
} as const satisfies Record<string, { label: string; agent: boolean; agentRequired: boolean; required: readonly string[] }>;

export type Channel = keyof typeof CHANNELS;
export const CHANNEL_IDS = Object.keys(CHANNELS) as Channel[];

/**
 * Which integration types serve which channels: an agent serves a channel when
 * it lists the channel, or one of its integrations is of a type that serves it
 * ("Agents with channel" and "Agents with integration" in the seeds). The same
 * table as services/dispatch's integration types, which a unit test there
 * keeps equal to this one.
 */
export const INTEGRATION_CHANNELS: Readonly<Record<string, readonly Channel[]>> = {
  smtp: ['email_notification', 'email_communication'],
  whatsapp: ['whatsapp'],
  messagebird: ['messagebird_whatsapp', 'messagebird_webhook'],
  telegram: ['telegram'],
  infobip: ['infobip'],
  twilio: ['twilio'],
  sip: ['sip'],
  llm: [],
};

/** Integration types that are language models (LLM Settings choose one of these). */
export const LLM_INTEGRATION_TYPES: readonly string[] = ['llm'];
