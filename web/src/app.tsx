// The console's frame: session, navigation bar, and the page of the current route.
import { useEffect } from 'preact/hooks';
import type { Me } from './api';
import { useLive } from './hooks';
import { live } from './live';
import { navigate, useRoute, type Route } from './router';
import { atLeast, logout, refreshSession, showLogin, useSession } from './session';
import { Login } from './pages/login';
import { Overview } from './pages/overview';
import { Tags } from './pages/tags';
import { TagPage } from './pages/tag';
import { Topics } from './pages/topics';
import { Mappings } from './pages/mappings';
import { Audit } from './pages/audit';

export function App() {
  const session = useSession();
  useEffect(() => void refreshSession(), []);
  if (session.kind === 'loading') return <p class="centered muted">Loading…</p>;
  if (session.kind === 'error')
    return (
      <p class="centered error" role="alert">
        {session.message}. <button onClick={() => void refreshSession()}>Retry</button>
      </p>
    );
  if (session.kind === 'login') return <Login canCancel={session.anonymous !== undefined} />;
  return <Console me={session.me} />;
}

const LINKS: Array<{ href: string; label: string; page: Route['page'][]; admin?: true }> = [
  { href: '/', label: 'Overview', page: ['overview'] },
  { href: '/tags', label: 'Tags', page: ['tags', 'tag'] },
  { href: '/topics', label: 'Topics', page: ['topics'] },
  { href: '/mappings', label: 'Mappings', page: ['mappings'], admin: true },
  { href: '/audit', label: 'Audit', page: ['audit'], admin: true },
];

function Console({ me }: { me: Me }) {
  const route = useRoute();
  useLive('connection');
  useEffect(() => void live.start().catch(() => undefined), []);
  const isAdmin = atLeast(me.role, 'admin');
  const links = LINKS.filter((l) => !l.admin || isAdmin);
  return (
    <>
      <a class="skip" href="#main">
        Skip to content
      </a>
      <header class="bar">
        <a class="brand" href="/">
          tagwire
        </a>
        <nav aria-label="Pages">
          {links.map((l) => (
            <a key={l.href} href={l.href} aria-current={l.page.includes(route.page) ? 'page' : undefined}>
              {l.label}
            </a>
          ))}
        </nav>
        <span class={`link-state ${live.connection}`} title="Live updates from the gateway">
          {live.connection === 'open' ? 'live' : live.connection === 'lost' ? 'reconnecting' : 'connecting'}
        </span>
        <span class="who" data-testid="who">
          {me.user ?? 'anonymous'} <span class="role">{me.role}</span>
        </span>
        {me.anonymous ? (
          <button class="link" onClick={showLogin}>
            Log in
          </button>
        ) : (
          <button class="link" onClick={() => void logout()}>
            Log out
          </button>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        <Page route={route} me={me} />
      </main>
    </>
  );
}

function Page({ route, me }: { route: Route; me: Me }) {
  const isAdmin = atLeast(me.role, 'admin');
  switch (route.page) {
    case 'overview':
      return <Overview />;
    case 'tags':
      return <Tags />;
    case 'tag':
      return <TagPage device={route.device} name={route.name} me={me} />;
    case 'topics':
      return <Topics />;
    case 'mappings':
      return isAdmin ? <Mappings file={route.file} /> : <Forbidden what="Mappings" />;
    case 'audit':
      return isAdmin ? <Audit /> : <Forbidden what="The audit log" />;
    case 'not-found':
      return (
        <section>
          <h1>Not found</h1>
          <p>
            Nothing at {route.path}.{' '}
            <a href="/" onClick={(e) => (e.preventDefault(), navigate('/'))}>
              Overview
            </a>
          </p>
        </section>
      );
  }
}

function Forbidden({ what }: { what: string }) {
  return (
    <section>
      <h1>Admins only</h1>
      <p>{what} needs the admin role.</p>
    </section>
  );
}
