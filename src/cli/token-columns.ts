/** The columns of `project tokens list` (the token itself is never shown after creation). */
export const TOKEN_COLUMNS = [
  { key: 'id', header: 'id' },
  { key: 'name', header: 'name' },
  { key: 'prefix', header: 'prefix' },
  { key: 'primary', header: 'primary' },
  { key: 'status', header: 'status' },
  { key: 'allowed_origins', header: 'origins' },
  { key: 'expires_at', header: 'expires' },
  { key: 'last_used_at', header: 'last used' },
  { key: 'created_at', header: 'created' },
] as const
