// Placeholder until the group adapter tests land.
