"""Developer tools that are not shipped: the mutation runner."""
