import { Anchor, Stack, Text, Title } from '@mantine/core';
import { Link } from 'react-router';

export function NotFound() {
  return (
    <Stack>
      <Title order={2}>Page not found</Title>
      <Text>This address is not a page of the portal.</Text>
      <Anchor component={Link} to="/campaigns">Go to the campaign list</Anchor>
    </Stack>
  );
}
