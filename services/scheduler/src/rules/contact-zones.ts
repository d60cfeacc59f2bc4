import { parsePhoneNumberFromString } from 'libphonenumber-js';
import { getTimezonesForCountry } from 'countries-and-timezones';
import { isTimeZone } from './local-time';

export interface ContactZones {
  readonly zones: readonly string[];
  /** Where the zones came from, for messages: "parameter timezone", "phone region FR", "campaign default". */
  readonly source: string;
}

const countryZones = new Map<string, string[]>();

/** The contact's time zone parameter: `timezone` (any case of the key), an IANA name. */
function parameterZone(parameters: Readonly<Record<string, unknown>> | null | undefined): string | null {
  if (!parameters) return null;
  for (const [key, value] of Object.entries(parameters)) {
    if (key.toLowerCase() === 'timezone' && isTimeZone(value)) return value;
  }
  return null;
}

/**
 * The time zones a contact may be in: its `timezone` parameter when it names
 * a zone; else the zones of its phone number's country (all of them when the
 * country has several, e.g. US); else the campaign's default zone; else UTC.
 */
export function contactZones(
  contact: { phone: string | null; parameters?: Readonly<Record<string, unknown>> | null; timezone?: string | null },
  campaignDefault: string | null | undefined,
): ContactZones {
  const own = contact.timezone && isTimeZone(contact.timezone) ? contact.timezone : parameterZone(contact.parameters);
  if (own) return { zones: [own], source: 'parameter timezone' };
  if (contact.phone) {
    const country = parsePhoneNumberFromString(contact.phone)?.country;
    if (country) {
      let zones = countryZones.get(country);
      if (!zones) {
        zones = getTimezonesForCountry(country)?.map((z) => z.name).filter((z) => isTimeZone(z)) ?? [];
        countryZones.set(country, zones);
      }
      if (zones.length) return { zones, source: `phone region ${country}` };
    }
  }
  if (campaignDefault && isTimeZone(campaignDefault)) return { zones: [campaignDefault], source: 'campaign default' };
  return { zones: ['UTC'], source: 'UTC (no zone known)' };
}

/** The `timezone` parameter as the projection stores it (null when absent or not a zone). */
export const timezoneParameter = parameterZone;
