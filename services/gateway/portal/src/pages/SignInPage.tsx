import { Button, Center, Paper, PasswordInput, SegmentedControl, Stack, Text, Title } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { useState, type FormEvent } from 'react';
import { api } from '../api';
import { ErrorAlert } from '../components/ErrorAlert';

/**
 * Signing in with an API key (a machine's or the first admin's, printed when
 * Herald first starts) or an OpenID Connect token of the configured issuer.
 * The gateway answers with an HttpOnly session cookie: the credential itself
 * is never stored by the page.
 */
export function SignInPage() {
  const queryClient = useQueryClient();
  const [kind, setKind] = useState<'apiKey' | 'token'>('apiKey');
  const [value, setValue] = useState('');
  const signIn = useMutation({
    mutationFn: () => api.signIn(kind === 'apiKey' ? { apiKey: value.trim() } : { token: value.trim() }),
    onSuccess: (me) => {
      queryClient.setQueryData(['me'], me);
      void queryClient.invalidateQueries();
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (value.trim()) signIn.mutate();
  };
  return (
    <Center mih="100vh" bg="gray.0">
      <Paper withBorder shadow="sm" p="xl" w={440} component="form" onSubmit={submit} aria-labelledby="sign-in-title">
        <Stack>
          <Title order={1} size="h2" id="sign-in-title">Sign in to Herald</Title>
          <SegmentedControl value={kind} onChange={(v) => setKind(v as 'apiKey' | 'token')} aria-label="Credential"
            data={[{ label: 'API key', value: 'apiKey' }, { label: 'OpenID Connect token', value: 'token' }]} />
          <PasswordInput label={kind === 'apiKey' ? 'API key' : 'Token'} required value={value} onChange={(e) => setValue(e.currentTarget.value)} autoFocus
            description={kind === 'apiKey' ? 'hk_… — the first admin key is printed in Herald\'s log when it first starts (embedded: also in the data folder, file admin-api-key).' : 'A token of your identity provider; an admin must have added you as a member.'} />
          <ErrorAlert error={signIn.error} />
          <Button type="submit" loading={signIn.isPending}>Sign in</Button>
          <Text size="xs" c="dimmed">The session lasts 12 hours and ends when the key is revoked or your membership ends.</Text>
        </Stack>
      </Paper>
    </Center>
  );
}
