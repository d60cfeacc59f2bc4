import { Button, Divider, Fieldset, Group, Modal, NumberInput, SimpleGrid, Stack, Switch, Textarea, TextInput } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconPlus, IconTrash } from '@tabler/icons-react';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api, ApiError, type CampaignView } from '../api';
import { ErrorAlert } from '../components/ErrorAlert';
import { ChannelConfig, channelBody, channelProblems, type AgentsState, type ChannelValue } from './ChannelConfig';
import type { ChannelId } from './channel-fields';

type StageView = CampaignView['stages'][number];
interface Variant extends ChannelValue { label: string; weight: number | string; group: 'control' | 'experimental' }

const empty = (): ChannelValue => ({ channel: '', agent: '', settings: {} });
const strings = (o: Record<string, unknown> | undefined) => Object.fromEntries(Object.entries(o ?? {}).map(([k, v]) => [k, v === null || v === undefined ? '' : String(v)]));
const fromStage = (s: StageView): ChannelValue => ({ channel: s.channel as ChannelId, agent: s.agent ?? '', settings: strings(s.settings) });

function initialVariants(stage: StageView | null): Variant[] {
  if (stage?.variants?.length) {
    return stage.variants.map((v) => ({ label: v.label, weight: v.weight, group: v.group, channel: v.channel as ChannelId, agent: v.agent ?? '', settings: strings(v.settings) }));
  }
  const base = stage ? fromStage(stage) : empty();
  return [
    { ...base, label: 'Control', weight: 50, group: 'control' },
    { ...base, label: 'Experimental', weight: 50, group: 'experimental' },
  ];
}

/** Create Stage / Edit Stage, with the A/B Testing toggle in the title bar. */
export function StageDialog({ campaign, stage, opened, onClose }: { campaign: CampaignView; stage: StageView | null; opened: boolean; onClose(): void }) {
  const qc = useQueryClient();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [config, setConfig] = useState<ChannelValue>(empty());
  const [ab, setAb] = useState(false);
  const [variants, setVariants] = useState<Variant[]>(initialVariants(null));
  const [tried, setTried] = useState(false);

  useEffect(() => {
    if (!opened) return;
    setName(stage?.name ?? '');
    setDescription(stage?.description ?? '');
    setConfig(stage ? fromStage(stage) : empty());
    setAb(Boolean(stage?.variants?.length));
    setVariants(initialVariants(stage));
    setTried(false);
  }, [opened, stage]);

  const agentsQuery = useQuery({ queryKey: ['agents'], queryFn: api.agents, enabled: opened, retry: false });
  const integrations = useQuery({ queryKey: ['integrations'], queryFn: api.integrations, enabled: opened });
  const agents: AgentsState = {
    list: agentsQuery.data ?? null,
    unavailable: agentsQuery.error instanceof ApiError && (agentsQuery.error.status === 404 || agentsQuery.error.status === 405),
  };

  const save = useMutation({
    mutationFn: () => {
      const body = ab
        ? {
          name: name.trim(), description: description.trim(), ...channelBody(variants[0]),
          variants: variants.map((v) => ({ label: v.label.trim(), group: v.group, weight: Number(v.weight), ...channelBody(v) })),
        }
        : { name: name.trim(), description: description.trim(), ...channelBody(config), variants: stage?.variants?.length ? [] : undefined };
      return stage ? api.updateStage(campaign.id, stage.id, body) : api.addStage(campaign.id, body);
    },
    onSuccess: (next) => {
      qc.setQueryData(['campaign', campaign.id], next);
      notifications.show({ color: 'green', message: stage ? `Stage “${name.trim()}” saved` : `Stage “${name.trim()}” added` });
      save.reset();
      onClose();
    },
  });

  const problems = ab ? variants.map(channelProblems) : [channelProblems(config)];
  const variantProblems = variants.map((v) => ({
    label: !v.label.trim() ? 'Label is required' : variants.filter((x) => x.label.trim() === v.label.trim()).length > 1 ? 'Labels must differ' : null,
    weight: v.weight === '' || !(Number(v.weight) > 0) ? 'Weight must be above 0' : null,
  }));
  const valid = name.trim() && description.trim() && problems.every((p) => Object.keys(p).length === 0)
    && (!ab || variantProblems.every((p) => !p.label && !p.weight));
  const submit = () => { setTried(true); if (valid) save.mutate(); };
  const shown = (p: Record<string, string>) => (tried ? p : {});
  // Switching A/B on splits what is already filled in into both groups; switching it off keeps the Control Group's.
  const toggleAb = (on: boolean) => {
    if (on && !variants.some((v) => v.channel)) setVariants(variants.map((v) => ({ ...v, ...config, settings: { ...config.settings } })));
    if (!on && variants[0]?.channel) setConfig({ channel: variants[0].channel, agent: variants[0].agent, settings: variants[0].settings });
    setAb(on);
  };
  const setVariant = (i: number, patch: Partial<Variant>) => setVariants((vs) => vs.map((v, j) => (j === i ? { ...v, ...patch } : v)));

  return (
    <Modal.Root opened={opened} onClose={onClose} size="xl">
      <Modal.Overlay />
      <Modal.Content>
        <Modal.Header>
          <Modal.Title fw={600}>{stage ? 'Edit Stage' : 'Create Stage'}</Modal.Title>
          <Group gap="md">
            <Switch label="A/B Testing" checked={ab} onChange={(e) => toggleAb(e.currentTarget.checked)} />
            <Modal.CloseButton aria-label="Close" />
          </Group>
        </Modal.Header>
        <Modal.Body>
          <form onSubmit={(e) => { e.preventDefault(); submit(); }} noValidate>
            <Stack>
              <TextInput label="Name" required data-autofocus value={name} onChange={(e) => setName(e.currentTarget.value)}
                description="Strategies move contacts between stages by this name: include a sequence number"
                error={tried && !name.trim() ? 'Name is required' : null} />
              <Textarea label="Description" required autosize minRows={1} value={description} onChange={(e) => setDescription(e.currentTarget.value)}
                error={tried && !description.trim() ? 'Description is required' : null} />
              <Divider />
              {!ab && (
                <ChannelConfig idPrefix="stage" value={config} onChange={setConfig} problems={shown(problems[0])} agents={agents} integrations={integrations.data ?? []} />
              )}
              {ab && (
                <Stack>
                  {variants.map((v, i) => (
                    <Fieldset key={i} legend={v.group === 'control' ? 'Control Group' : variants.length > 2 ? `Experimental Group ${i}` : 'Experimental Group'}>
                      <Stack gap="sm">
                        <SimpleGrid cols={2}>
                          <TextInput label="Label" required value={v.label} onChange={(e) => setVariant(i, { label: e.currentTarget.value })} error={tried ? variantProblems[i].label : null} />
                          <NumberInput label="Weight" required min={0} value={v.weight} onChange={(w) => setVariant(i, { weight: w })} error={tried ? variantProblems[i].weight : null}
                            description="How often this configuration is picked, relative to the others" />
                        </SimpleGrid>
                        <ChannelConfig idPrefix={`variant-${i}`} value={v} onChange={(c) => setVariant(i, c)} problems={shown(problems[i])} agents={agents} integrations={integrations.data ?? []} />
                        {i > 1 && (
                          <Group justify="flex-end">
                            <Button variant="subtle" color="red" leftSection={<IconTrash size={14} />} onClick={() => setVariants((vs) => vs.filter((_, j) => j !== i))}>Remove this group</Button>
                          </Group>
                        )}
                      </Stack>
                    </Fieldset>
                  ))}
                  {variants.length < 10 && (
                    <Button variant="light" leftSection={<IconPlus size={14} />} onClick={() => setVariants((vs) => [...vs, { ...empty(), label: `Experimental ${vs.length}`, weight: 50, group: 'experimental' }])}>
                      Add another experimental group
                    </Button>
                  )}
                </Stack>
              )}
              <ErrorAlert error={save.error} title="The stage could not be saved" />
              <Group justify="flex-end">
                <Button variant="default" onClick={onClose}>Cancel</Button>
                <Button type="submit" loading={save.isPending}>Save</Button>
              </Group>
            </Stack>
          </form>
        </Modal.Body>
      </Modal.Content>
    </Modal.Root>
  );
}
