"""A price table for AI cost (`aidevops metrics --prices FILE`): USD per million tokens, by model name as
the run store records it (`aidevops decisions` shows it). Prices change more often than deployments and are
the same for every inventory, so they live in a small file of their own rather than in each inventory's
request:

    claude-sonnet-4-5: {input: 3.00, output: 15.00, cache_read: 0.30, cache_write: 3.75}
    gpt-4.1-mini: {input: 0.40, output: 1.60, cache_read: 0.10}

cache_read and cache_write default to the input price.
"""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, NonNegativeFloat, TypeAdapter, ValidationError

from orchestrator.errors import BadInput

PER_TOKENS = 1_000_000


class ModelPrice(BaseModel):
    model_config = ConfigDict(extra="forbid")

    input: NonNegativeFloat
    output: NonNegativeFloat
    cache_read: NonNegativeFloat | None = None
    cache_write: NonNegativeFloat | None = None

    def cost(self, tokens_in: int, tokens_out: int, cache_read: int, cache_write: int) -> float:
        """USD for this usage. The store's tokens_in counts every prompt token, cached ones included (both
        providers are read that way), so the cached ones are taken out of it and priced at their own rate."""
        uncached = max(tokens_in - cache_read - cache_write, 0)
        read_price = self.input if self.cache_read is None else self.cache_read
        write_price = self.input if self.cache_write is None else self.cache_write
        return (uncached * self.input + tokens_out * self.output + cache_read * read_price
                + cache_write * write_price) / PER_TOKENS


Prices = dict[str, ModelPrice]
_TABLE = TypeAdapter(Prices)


def load_prices(path: Path) -> Prices:
    """The table in PATH, checked; one clear error for a missing file, bad YAML or a wrong entry."""
    hint = "a mapping of model name to {input, output[, cache_read, cache_write]} in USD per million tokens"
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise BadInput(f"cannot read the price table: {exc.strerror}", where=str(path)) from None
    except yaml.YAMLError as exc:
        raise BadInput(f"the price table is not valid YAML: {exc}", where=str(path), hint=hint) from None
    try:
        return _TABLE.validate_python(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise BadInput(f"{where or 'the price table'}: {first['msg'].lower()}", where=str(path),
                       hint=hint) from None
