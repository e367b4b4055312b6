import { useEffect, useState } from 'react';

/**
 * Routes live in the URL's hash (#/campaigns/x): the service serves one index.html, and a link to any page
 * works offline and after a reload, with no server-side routing.
 */
export type Route =
  | { page: 'overview' }
  | { page: 'campaigns' }
  | { page: 'campaign'; id: string }
  | { page: 'editor'; id?: string }
  | { page: 'customers'; id?: string }
  | { page: 'dlq'; stage?: string };

export function parseRoute(hash: string): Route {
  const [path, query = ''] = hash.replace(/^#/, '').split('?');
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  const params = new URLSearchParams(query);
  if (parts[0] === 'campaigns' && parts[1] === 'new') return { page: 'editor' };
  if (parts[0] === 'campaigns' && parts[1] && parts[2] === 'edit') return { page: 'editor', id: parts[1] };
  if (parts[0] === 'campaigns' && parts[1]) return { page: 'campaign', id: parts[1] };
  if (parts[0] === 'campaigns') return { page: 'campaigns' };
  if (parts[0] === 'customers') return { page: 'customers', id: parts[1] };
  if (parts[0] === 'dlq') return { page: 'dlq', stage: params.get('stage') ?? undefined };
  return { page: 'overview' };
}

export const href = {
  overview: () => '#/',
  campaigns: () => '#/campaigns',
  campaign: (id: string) => `#/campaigns/${encodeURIComponent(id)}`,
  edit: (id: string) => `#/campaigns/${encodeURIComponent(id)}/edit`,
  newCampaign: () => '#/campaigns/new',
  customer: (id: string) => `#/customers/${encodeURIComponent(id)}`,
  customers: () => '#/customers',
  dlq: (stage?: string) => `#/dlq${stage ? `?stage=${encodeURIComponent(stage)}` : ''}`,
};

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(location.hash));
  useEffect(() => {
    const update = () => setRoute(parseRoute(location.hash));
    window.addEventListener('hashchange', update);
    return () => window.removeEventListener('hashchange', update);
  }, []);
  return route;
}
