"""Model providers behind one interface: given a system text, a prompt and a JSON schema, return one
structured answer (forced tool use) with its cost, or raise ProviderError saying why not."""

from orchestrator.ai.providers.base import Answer, Provider, ProviderError, ProviderSettings

PROVIDERS = ("anthropic", "openai")

__all__ = ["PROVIDERS", "Answer", "Provider", "ProviderError", "ProviderSettings", "make_provider"]


def make_provider(name: str, settings: ProviderSettings | None = None) -> Provider:
    """The provider called `name` ("anthropic" or "openai"). An SDK is imported only when its provider is
    asked for. A missing key is not an error here: the provider's ask() raises ProviderError(AUTH)."""
    settings = settings or ProviderSettings()
    if name == "anthropic":
        from orchestrator.ai.providers.anthropic import AnthropicProvider

        return AnthropicProvider(settings)
    if name == "openai":
        from orchestrator.ai.providers.openai import OpenAIProvider

        return OpenAIProvider(settings)
    raise ValueError(f"unknown AI provider {name!r}: use one of {', '.join(PROVIDERS)}")
