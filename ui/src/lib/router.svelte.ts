/** Hash routing: `#/`, `#/account`, `#/admin`, `#/monitor`, `#/inspector`, `#/login`, `#/register`. */
export type Page = 'dashboard' | 'account' | 'admin' | 'monitor' | 'inspector' | 'login' | 'register';

const PAGES: Record<string, Page> = {
  '/': 'dashboard',
  '/account': 'account',
  '/admin': 'admin',
  '/monitor': 'monitor',
  '/inspector': 'inspector',
  '/login': 'login',
  '/register': 'register',
};

const pageOf = (hash: string): Page => PAGES[hash.replace(/^#/, '') || '/'] ?? 'dashboard';

export const router = $state({ page: pageOf(location.hash) });

window.addEventListener('hashchange', () => {
  router.page = pageOf(location.hash);
});

export function go(path: string): void {
  if (location.hash !== `#${path}`) location.hash = path;
  router.page = pageOf(path);
}

export const href = (path: string) => `#${path}`;
