"""The AI decision layer: providers (anthropic, openai-compatible, offline, replay), bounded decisions,
recovery analysis, and their audit trail in the run store."""
