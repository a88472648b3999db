"""All SQL lives here; functions take keyword-only arguments and a TenantId for tenant data."""
