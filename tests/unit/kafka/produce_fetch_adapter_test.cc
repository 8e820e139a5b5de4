// Placeholder until the produce_fetch adapter tests land.
