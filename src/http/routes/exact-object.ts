// Request body and query schemas: an object with exactly the listed properties (anything else is
// refused with 400, so a misspelt field never passes silently).

/** JSON schema of an object with these properties, the `required` ones among them. */
export function exactObject<P extends Record<string, object>>(
  properties: P,
  required: readonly (keyof P & string)[] = [],
) {
  return {
    type: 'object',
    additionalProperties: false,
    ...(required.length > 0 && { required }),
    properties,
  } as const;
}
