import { Button, Group, Modal, Select, SimpleGrid, Stack, TextInput } from '@mantine/core';
import { useEffect, useState } from 'react';
import type { ContactFilters } from '../api';
import { titleCase } from '../format';

const OUTCOMES = ['SUCCESS', 'POSITIVE', 'UNCERTAIN', 'NEGATIVE', 'ERROR'];

/** Contact Filters: name, email, phone, outcome status, creation date, external ID. */
export function ContactFiltersDialog({ opened, value, onClose, onApply }: { opened: boolean; value: ContactFilters; onClose(): void; onApply(f: ContactFilters): void }) {
  const [f, setF] = useState<ContactFilters>(value);
  useEffect(() => { if (opened) setF(value); }, [opened, value]);
  const text = (key: keyof ContactFilters, label: string) => (
    <TextInput label={label} value={f[key] ?? ''} onChange={(e) => setF({ ...f, [key]: e.currentTarget.value })} />
  );
  // The API takes instants; the form shows local days ("to" is the start of the next day).
  const day = (iso?: string, back = 0) => {
    if (!iso) return '';
    const d = new Date(Date.parse(iso) - back);
    return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
  };
  return (
    <Modal opened={opened} onClose={onClose} title="Contact Filters" size="lg">
      <form noValidate onSubmit={(e) => {
        e.preventDefault();
        const clean = Object.fromEntries(Object.entries(f).filter(([, v]) => v !== undefined && String(v).trim() !== '')) as ContactFilters;
        onApply(clean);
      }}>
        <Stack>
          <SimpleGrid cols={2}>
            {text('name', 'Name')}
            {text('email', 'Email')}
            {text('phone', 'Phone')}
            {text('externalId', 'External ID')}
            <Select label="Outcome" clearable data={OUTCOMES.map((o) => ({ value: o, label: titleCase(o) }))} value={f.outcome ?? null} onChange={(o) => setF({ ...f, outcome: o ?? undefined })} />
            <div />
            <TextInput type="date" label="Created from" value={day(f.createdFrom)} onChange={(e) => setF({ ...f, createdFrom: e.currentTarget.value ? new Date(`${e.currentTarget.value}T00:00:00`).toISOString() : undefined })} />
            <TextInput type="date" label="Created to (inclusive)" value={day(f.createdTo, 86_400_000)} onChange={(e) => setF({ ...f, createdTo: e.currentTarget.value ? new Date(new Date(`${e.currentTarget.value}T00:00:00`).getTime() + 86_400_000).toISOString() : undefined })} />
          </SimpleGrid>
          <Group justify="space-between">
            <Button variant="subtle" onClick={() => { setF({}); onApply({}); }}>Clear filters</Button>
            <Group gap="xs">
              <Button variant="default" onClick={onClose}>Cancel</Button>
              <Button type="submit">Apply</Button>
            </Group>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
