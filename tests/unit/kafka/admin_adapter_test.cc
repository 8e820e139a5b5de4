// Placeholder until the admin adapter tests land.
