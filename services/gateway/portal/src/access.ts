import { useQuery } from '@tanstack/react-query';
import { api, type Me } from './api';

/** The roles, each including the ones before it (docs/security.md). */
const ORDER: Me['role'][] = ['viewer', 'operator', 'campaign_manager', 'admin'];
const LABEL: Record<Me['role'], string> = { viewer: 'Viewer', operator: 'Operator', campaign_manager: 'Campaign manager', admin: 'Admin' };

export function roleLabel(role: Me['role']): string {
  return LABEL[role];
}

/**
 * What the signed-in person may do. The API decides (it answers 403); the
 * portal only disables what would be refused and says why, as the seeds ask
 * ("Start is unavailable ... or your role lacks the permission").
 */
export function useAccess() {
  const me = useQuery({ queryKey: ['me'], queryFn: api.me, staleTime: 60_000 }).data;
  const allows = (role: Me['role']) => Boolean(me && ORDER.indexOf(me.role) >= ORDER.indexOf(role));
  const why = (role: Me['role'], what: string) => (allows(role) ? null : `Your role (${me ? LABEL[me.role] : 'unknown'}) lacks the permission to ${what}: it needs ${LABEL[role]} or above.`);
  return { me, allows, why };
}
