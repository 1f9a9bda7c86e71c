// The release of this tagwire: the version in its package.json.
import { packageVersion } from './http/package-root.js';

export const RELEASE = packageVersion();
