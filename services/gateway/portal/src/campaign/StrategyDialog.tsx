import { Button, FileButton, Group, Input, Modal, Select, Stack, Text, Textarea, TextInput } from '@mantine/core';
import { notifications } from '@mantine/notifications';
import { IconUpload } from '@tabler/icons-react';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { api, type CampaignView } from '../api';
import { ErrorAlert } from '../components/ErrorAlert';
import { STRATEGY_TYPES } from '../format';

type StrategyView = CampaignView['strategies'][number];

/** Add Strategy (type offered only if unused) or Edit strategy (with Replace file). */
export function StrategyDialog({ campaign, strategy, opened, onClose }: { campaign: CampaignView; strategy: StrategyView | null; opened: boolean; onClose(): void }) {
  const qc = useQueryClient();
  const [name, setName] = useState('');
  const [description, setDescription] = useState('');
  const [type, setType] = useState<string | null>(null);
  const [functionName, setFunctionName] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [tried, setTried] = useState(false);
  const used = new Set(campaign.strategies.map((s) => s.type));
  const types = STRATEGY_TYPES.filter((t) => !used.has(t.value) || t.value === strategy?.type);

  useEffect(() => {
    if (!opened) return;
    setName(strategy?.name ?? '');
    setDescription(strategy?.description ?? '');
    setType(strategy?.type ?? null);
    setFunctionName(strategy?.functionName ?? '');
    setFile(null);
    setTried(false);
  }, [opened, strategy]);

  const save = useMutation({
    mutationFn: async () => {
      if (!strategy) {
        const form = new FormData();
        form.set('name', name.trim()); form.set('description', description.trim()); form.set('type', type!); form.set('functionName', functionName.trim());
        form.set('file', file!, file!.name);
        return api.addStrategy(campaign.id, form);
      }
      let next = await api.updateStrategy(campaign.id, strategy.id, { name: name.trim(), description: description.trim(), functionName: functionName.trim() });
      if (file) {
        const form = new FormData();
        form.set('file', file, file.name);
        next = await api.replaceStrategyFile(campaign.id, strategy.id, form);
      }
      return next;
    },
    onSuccess: (next) => {
      qc.setQueryData(['campaign', campaign.id], next);
      void qc.invalidateQueries({ queryKey: ['strategy-code'] });
      notifications.show({ color: 'green', message: strategy ? `Strategy “${name.trim()}” saved` : `Strategy “${name.trim()}” added` });
      save.reset();
      onClose();
    },
  });
  const problems = {
    name: !name.trim() ? 'Name is required' : null,
    description: !description.trim() ? 'Description is required' : null,
    type: !type ? 'Select the type' : null,
    functionName: !functionName.trim() ? 'The name of the function to call is required' : !/^[A-Za-z_]\w*$/.test(functionName.trim()) ? 'A Python function name: letters, digits and _' : null,
    file: !strategy && !file ? 'Upload the .py file' : file && !/\.py$/i.test(file.name) ? 'The file must be a .py file' : null,
  };
  const valid = Object.values(problems).every((p) => !p);
  const show = (k: keyof typeof problems) => (tried ? problems[k] : null);
  return (
    <Modal opened={opened} onClose={onClose} title={strategy ? 'Edit strategy' : 'Add Strategy'} size="lg">
      <form onSubmit={(e) => { e.preventDefault(); setTried(true); if (valid) save.mutate(); }} noValidate>
        <Stack>
          <TextInput label="Name" required data-autofocus value={name} onChange={(e) => setName(e.currentTarget.value)} error={show('name')} />
          <Textarea label="Description" required autosize minRows={1} value={description} onChange={(e) => setDescription(e.currentTarget.value)} error={show('description')} />
          <Select label="Type" required data={types} value={type} onChange={setType} disabled={Boolean(strategy)} error={show('type')}
            description={strategy ? 'The type of a strategy does not change' : 'Each type can be used once per campaign'} />
          <TextInput label="Function name" required value={functionName} onChange={(e) => setFunctionName(e.currentTarget.value)} error={show('functionName')}
            description="The exact name of the function in your file" />
          <Input.Wrapper label={strategy ? 'Replace file' : 'Upload file'} required={!strategy} error={show('file')}
            description={strategy ? `Now: ${strategy.fileName} (version ${strategy.version}). Choose a new .py file to replace it.` : 'One self-contained .py file; only the Python standard library'}>
            <Group mt={4}>
              <FileButton onChange={setFile} accept=".py,text/x-python">
                {(props) => <Button {...props} variant="default" leftSection={<IconUpload size={16} />}>{strategy ? 'Replace file' : 'Upload file'}</Button>}
              </FileButton>
              <Text size="sm" data-testid="chosen-file">{file ? file.name : 'No file chosen'}</Text>
            </Group>
          </Input.Wrapper>
          <ErrorAlert error={save.error} title="The strategy could not be saved" />
          <Group justify="flex-end">
            <Button variant="default" onClick={onClose}>Cancel</Button>
            <Button type="submit" loading={save.isPending}>Save</Button>
          </Group>
        </Stack>
      </form>
    </Modal>
  );
}
