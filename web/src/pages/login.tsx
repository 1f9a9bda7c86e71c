// The login page: shown when /api/me answers 401 (anonymous access is off).
import { useState } from 'preact/hooks';
import { ApiError } from '../api';
import { useTitle } from '../hooks';
import { cancelLogin, login } from '../session';

export function Login({ canCancel = false }: { canCancel?: boolean }) {
  useTitle('Log in');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState('');
  const [busy, setBusy] = useState(false);

  async function submit(e: Event) {
    e.preventDefault();
    setBusy(true);
    setError('');
    try {
      await login(username, password);
    } catch (err) {
      setError(
        err instanceof ApiError && err.status === 429
          ? `Too many attempts: ${err.message}`
          : err instanceof Error
            ? err.message
            : String(err),
      );
      setPassword('');
    } finally {
      setBusy(false);
    }
  }

  return (
    <main class="login">
      <form onSubmit={submit} aria-labelledby="login-title">
        <h1 id="login-title">tagwire</h1>
        <p class="muted">Log in to the gateway console.</p>
        <label>
          User name
          <input
            name="username"
            autocomplete="username"
            required
            autoFocus
            value={username}
            onInput={(e) => setUsername(e.currentTarget.value)}
          />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            autocomplete="current-password"
            required
            value={password}
            onInput={(e) => setPassword(e.currentTarget.value)}
          />
        </label>
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
        {canCancel && (
          <button type="button" class="link" onClick={cancelLogin}>
            Continue without logging in
          </button>
        )}
      </form>
    </main>
  );
}
