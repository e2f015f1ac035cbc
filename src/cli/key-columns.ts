export const KEY_COLUMNS = [
  { key: 'id', header: 'id' },
  { key: 'name', header: 'name' },
  { key: 'prefix', header: 'prefix' },
  { key: 'scopes', header: 'scopes' },
  { key: 'project_ids', header: 'projects' },
  { key: 'status', header: 'status' },
  { key: 'expires_at', header: 'expires' },
  { key: 'last_used_at', header: 'last used' },
] as const
