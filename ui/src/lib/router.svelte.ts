/**
 * Real paths (History API): `/`, `/containers/<id>`, `/account`, `/admin/<tab>`, `/monitor`,
 * `/inspector/<actor>`, `/login`, `/register`. The server answers every other GET with
 * index.html, so deep links and reloads land here; back/forward fire `popstate`.
 * Same-origin `<a href="/…">` clicks are taken over by `go()` (no page load).
 */
export type Page = 'dashboard' | 'account' | 'admin' | 'monitor' | 'inspector' | 'login' | 'register';

export interface Route {
  page: Page;
  /** What follows the page's own segment: a container id, an admin tab, an actor name. */
  param: string | null;
  path: string;
}

const PAGES: Record<string, Page> = {
  '': 'dashboard',
  containers: 'dashboard',
  account: 'account',
  admin: 'admin',
  monitor: 'monitor',
  inspector: 'inspector',
  login: 'login',
  register: 'register',
};

export function parse(path: string): Route {
  const [first = '', ...rest] = path.replace(/^\/+/, '').replace(/\/+$/, '').split('/');
  const page = PAGES[first] ?? 'dashboard';
  let param: string | null = null;
  try {
    param = rest.length ? decodeURIComponent(rest.join('/')) : null;
  } catch {
    param = null;
  }
  return { page, param: page === PAGES[first] ? param : null, path };
}

export const router = $state<{ route: Route }>({ route: parse(location.pathname) });

window.addEventListener('popstate', () => {
  router.route = parse(location.pathname);
});

/** Navigate to `path`; `replace` rewrites the current history entry instead of adding one. */
export function go(path: string, options: { replace?: boolean } = {}): void {
  if (location.pathname !== path) {
    if (options.replace) history.replaceState(null, '', path);
    else history.pushState(null, '', path);
  }
  router.route = parse(path);
}

export const href = (path: string) => path;

/** `/inspector/` + an encoded segment, etc. */
export const pathOf = (page: string, param?: string | number | null) =>
  param === null || param === undefined || param === '' ? `/${page}` : `/${page}/${encodeURIComponent(String(param))}`;

// Plain links navigate inside the app (modifier keys and new tabs still work as usual).
document.addEventListener('click', (event) => {
  if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const link = (event.target as Element | null)?.closest?.('a');
  if (!link || link.target || link.hasAttribute('download') || link.origin !== location.origin) return;
  if (link.pathname.startsWith('/api/') || link.pathname === '/metrics') return;
  event.preventDefault();
  go(link.pathname);
});
