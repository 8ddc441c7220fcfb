"""Model providers behind one interface: given a system text, a prompt and a JSON schema, return one
structured answer (forced tool use) with its cost, or raise ProviderError saying why not."""

from orchestrator.ai.providers.base import Answer, Provider, ProviderError, ProviderSettings

__all__ = ["Answer", "Provider", "ProviderError", "ProviderSettings"]
