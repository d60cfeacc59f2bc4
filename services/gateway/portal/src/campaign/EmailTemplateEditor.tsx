import { Input, SegmentedControl, Stack, Text, Textarea } from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useEffect, useRef } from 'react';

/** A sample contact for the preview: the seeds' CSV example. */
const SAMPLE: Record<string, unknown> = {
  name: 'John Doe', email: 'john@example.com', phone: '+12025550123', object_id: 'C-1001', external_id: 'U-501',
  parameters: { amount_due: '250', due_date: '2026-07-01' },
};

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function lookup(path: string): unknown {
  const params = SAMPLE.parameters as Record<string, unknown>;
  const parts = path.split('.');
  let v: unknown = SAMPLE;
  for (const p of parts) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[p] : undefined;
  return v ?? (parts.length === 1 ? params[path] : undefined);
}

/** The template with the sample contact's values, as the email's HTML. */
export function renderPreview(template: string, html: boolean): string {
  const filled = template.replace(/\{\{\s*([\w.]+)\s*\}\}/g, (whole, path: string) => {
    const v = lookup(path);
    return v === undefined ? whole : html ? escapeHtml(String(v)) : String(v);
  });
  return html ? filled : `<body style="font-family: sans-serif; white-space: pre-wrap; margin: 12px">${escapeHtml(filled)}</body>`;
}

/**
 * Email input type (Default: plain text; HTML: raw HTML kept as written),
 * the template, and its live preview. The preview frame (/portal/preview) is
 * sandboxed into an opaque origin under its own policy: the template's
 * inline styles apply there, its scripts never run.
 */
export function EmailTemplateEditor({ inputType, template, onChange, error, required }: {
  inputType: string; template: string; onChange(v: { inputType?: string; template?: string }): void; error?: string | null; required?: boolean;
}) {
  const html = inputType === 'html';
  const frame = useRef<HTMLIFrameElement>(null);
  const [debounced] = useDebouncedValue(renderPreview(template, html), 200);
  const latest = useRef(debounced);
  latest.current = debounced;
  useEffect(() => {
    frame.current?.contentWindow?.postMessage(debounced, '*');
  }, [debounced]);
  useEffect(() => {
    // The frame says when its script is ready; send it the current template then.
    const onMessage = (e: MessageEvent) => {
      if (e.source === frame.current?.contentWindow && e.data === 'herald-preview-ready') frame.current?.contentWindow?.postMessage(latest.current, '*');
    };
    addEventListener('message', onMessage);
    return () => removeEventListener('message', onMessage);
  }, []);
  return (
    <Stack gap="xs">
      <Input.Wrapper label="Email input type">
        <div>
          <SegmentedControl aria-label="Email input type" value={html ? 'html' : 'default'} onChange={(v) => onChange({ inputType: v })}
            data={[{ value: 'default', label: 'Default' }, { value: 'html', label: 'HTML' }]} />
        </div>
      </Input.Wrapper>
      <Textarea label="Email template" required={required} autosize minRows={4} maxRows={14} value={template} error={error}
        description={html ? 'Raw HTML, sent as written. {{name}}, {{email}} and {{parameters.amount_due}} take the contact\'s values.' : 'Plain text. {{name}}, {{email}} and {{parameters.amount_due}} take the contact\'s values.'}
        styles={html ? { input: { fontFamily: 'var(--mantine-font-family-monospace)' } } : undefined}
        onChange={(e) => onChange({ template: e.currentTarget.value })} />
      <Text size="sm" fw={500} id="preview-label">Email template preview</Text>
      <Text size="xs" c="dimmed">With a sample contact: John Doe, amount_due 250, due_date 2026-07-01.</Text>
      <iframe ref={frame} src="/portal/preview" title="Email template preview" className="preview-frame" sandbox="allow-scripts" />
    </Stack>
  );
}
