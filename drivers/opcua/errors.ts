// Connection failures as messages a person can act on: which certificate to move where, which
// login failed, or that nothing answers.
import path from 'node:path';
import { newestRejected, type PkiPaths } from './pki.js';

export function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** A one-line explanation of why connecting to `endpointUrl` failed. */
export async function explainConnectError(
  err: unknown,
  endpointUrl: string,
  paths: PkiPaths,
): Promise<string> {
  const text = errorText(err);
  if (
    /BadCertificateUntrusted|certificate.*(untrusted|not trusted|rejected)|server certificate/i.test(text) &&
    !/BadSecurityChecksFailed/.test(text)
  ) {
    const rejected = await newestRejected(paths);
    const file = rejected ? path.basename(rejected) : '<server certificate>.pem';
    return (
      `we do not trust the certificate of ${endpointUrl}: move ${rejected ?? path.join(paths.rejected, file)} to ` +
      `${path.join(paths.trusted, file)} (or run \`tagwire pki trust ${file}\`) once you checked it is the right server (${text})`
    );
  }
  if (/BadSecurityChecksFailed|BadCertificate|BadSecurityPolicyRejected/.test(text)) {
    return (
      `${endpointUrl} rejected our certificate ${paths.certificateFile}: on the server, move it from its rejected ` +
      `folder to its trusted folder (for node-opcua servers pki/rejected -> pki/trusted/certs) (${text})`
    );
  }
  if (/BadIdentityTokenRejected|BadIdentityTokenInvalid|BadUserAccessDenied/.test(text)) {
    return `${endpointUrl} refused our login: check the device's "user" (username and password, or certificate) (${text})`;
  }
  if (/ECONNREFUSED/.test(text)) return `nothing accepts connections at ${endpointUrl} (connection refused)`;
  if (/timeout|timed out/i.test(text)) return `no answer from ${endpointUrl} in time (${text})`;
  if (/cannot find endpoint|No endpoint|matching endpoint/i.test(text)) {
    return `${endpointUrl} offers no endpoint with this securityMode and securityPolicy (${text})`;
  }
  return text;
}
