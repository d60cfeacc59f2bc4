import type { ContactState, Json } from '@herald/contracts';

/**
 * Fills `{{name}}`, `{{email}}`, `{{phone}}`, `{{external_id}}`,
 * `{{parameters.KEY}}` and `{{KEY}}` (a contact parameter) placeholders.
 * Unknown placeholders become empty; HTML templates get escaped values.
 */
export function renderTemplate(template: string, contact: ContactState, options: { html?: boolean } = {}): string {
  return template.replace(/\{\{\s*([\w.-]+)\s*\}\}/g, (_match, path: string) => {
    const value = lookup(contact, path);
    const text = value === null || value === undefined ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value);
    return options.html ? escapeHtml(text) : text;
  });
}

function lookup(contact: ContactState, path: string): Json | undefined {
  const fields: Record<string, Json> = {
    name: contact.name, email: contact.email, phone: contact.phone, external_id: contact.externalId, object_id: contact.objectId,
    current_stage: contact.currentStage,
  };
  if (path in fields) return fields[path];
  const [head, ...rest] = path.startsWith('parameters.') ? path.slice('parameters.'.length).split('.') : path.split('.');
  let value: Json | undefined = contact.parameters[head];
  for (const key of rest) value = value && typeof value === 'object' && !Array.isArray(value) ? value[key] : undefined;
  return value;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
