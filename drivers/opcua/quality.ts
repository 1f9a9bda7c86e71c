// OPC UA StatusCodes as tag qualities: the top two bits say good, uncertain or bad; the name says why.
import type { Quality } from '../types.js';

export interface StatusLike {
  value: number;
  name: string;
}

export function qualityOf(status: StatusLike): Quality {
  const severity = status.value >>> 30;
  if (severity === 0) return 'good';
  if (severity === 1) return 'uncertain';
  return 'bad';
}
