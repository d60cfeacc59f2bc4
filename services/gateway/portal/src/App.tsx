import { Anchor, AppShell, Badge, Button, Center, Group, Loader, NavLink, Text, Title } from '@mantine/core';
import { IconLogout, IconSpeakerphone } from '@tabler/icons-react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useEffect } from 'react';
import { Link, Route, Routes, useLocation } from 'react-router';
import { api, ApiError, type Me } from './api';
import { ErrorAlert } from './components/ErrorAlert';
import { SignInPage } from './pages/SignInPage';
import { roleLabel } from './access';
import { CampaignPage } from './pages/CampaignPage';
import { CampaignsPage } from './pages/CampaignsPage';
import { LogsPage } from './pages/LogsPage';
import { NotFound } from './pages/NotFound';
import { SessionPage } from './pages/SessionPage';
import { DeepAnalysisPage } from './deep-analysis/DeepAnalysisPage';


/** Signed in or not: the sign-in page until /api/me answers, and again whenever the API says the session ended. */
export function App() {
  const queryClient = useQueryClient();
  const me = useQuery({ queryKey: ['me'], queryFn: api.me, retry: false, staleTime: 60_000 });
  useEffect(() => {
    const signedOut = () => void queryClient.invalidateQueries({ queryKey: ['me'] });
    window.addEventListener('herald:signed-out', signedOut);
    return () => window.removeEventListener('herald:signed-out', signedOut);
  }, [queryClient]);
  if (me.isPending) return <Center mih="100vh"><Loader aria-label="Loading" /></Center>;
  if (me.error instanceof ApiError && me.error.status === 401) return <SignInPage />;
  if (me.error) return <Center mih="100vh"><ErrorAlert error={me.error} title="Herald cannot be reached" /></Center>;
  return <Shell me={me.data} />;
}

function Shell({ me }: { me: Me }) {
  const { pathname } = useLocation();
  const queryClient = useQueryClient();
  const signOut = async () => {
    await api.signOut().catch(() => undefined);
    queryClient.clear();
    // A fresh page: nothing the previous person saw stays in memory, and the sign-in page shows.
    window.location.assign('/');
  };
  return (
    <AppShell header={{ height: 52 }} navbar={{ width: 200, breakpoint: 'sm' }} padding="md">
      <AppShell.Header>
        <Group h="100%" px="md" gap="xs">
          <Anchor component={Link} to="/" underline="never" c="inherit">
            <Title order={1} size="h3">Herald</Title>
          </Anchor>
          <Text c="dimmed" size="sm">outbound campaigns</Text>
          <Group ml="auto" gap="xs">
            <Text size="sm" aria-label="Signed in as">{me.name} · {me.workspace.name}</Text>
            <Badge variant="light" aria-label="Role">{roleLabel(me.role)}</Badge>
            <Button variant="subtle" size="xs" leftSection={<IconLogout size={14} />} onClick={() => void signOut()}>Sign out</Button>
          </Group>
        </Group>
      </AppShell.Header>
      <AppShell.Navbar p="xs" aria-label="Main menu">
        <Text size="xs" c="dimmed" tt="uppercase" fw={700} px="sm" py={4}>Campaigns</Text>
        <NavLink component={Link} to="/campaigns" label="Python" leftSection={<IconSpeakerphone size={16} />}
          active={pathname === '/' || pathname.startsWith('/campaigns')} />
      </AppShell.Navbar>
      <AppShell.Main>
        <Routes>
          <Route path="/" element={<CampaignsPage />} />
          <Route path="/campaigns" element={<CampaignsPage />} />
          <Route path="/campaigns/:id" element={<CampaignPage />} />
          <Route path="/campaigns/:id/logs" element={<LogsPage />} />
          <Route path="/campaigns/:id/deep-analysis" element={<DeepAnalysisPage />} />
          <Route path="/sessions/:id" element={<SessionPage />} />
          <Route path="*" element={<NotFound />} />
        </Routes>
      </AppShell.Main>
    </AppShell>
  );
}
