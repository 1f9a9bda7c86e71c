// The release of this tagwire: the version in its package.json.
import { packageVersion } from './package-root.js';

export const RELEASE = packageVersion();
