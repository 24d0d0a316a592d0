"""docqa inside other frameworks: :mod:`docqa.integrations.haystack` (haystack-ai components and stores)."""
