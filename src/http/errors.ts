// The one error shape of the API: `{ "error": "words a user understands" }`.
export interface ErrorBody {
  error: string;
}

export function errorBody(error: string): ErrorBody {
  return { error };
}
