// What checking a mapping edit answers, as the API sends it. Type-only and import-free: the web
// console imports these very types (web/src/api.ts), so server and console cannot drift apart.

export interface ProblemView {
  file: string;
  pointer: string;
  message: string;
  /** The line `tagwire validate` prints for it. */
  text: string;
  line?: number;
  column?: number;
}

export interface ChangeSummary {
  tagsAdded: string[];
  tagsRemoved: string[];
  tagsChanged: string[];
  devicesRestarted: string[];
  /** Config blocks that changed on disk and apply at the next restart. */
  restartNeeded: string[];
}
