"""Large JSON answers written straight to bytes by pydantic-core (an hour of samples is
~2 MB: about 25 ms here, against ~75 ms through FastAPI's encoder and json.dumps). A number
that is not finite becomes null, as JSON has no NaN."""

from __future__ import annotations

from typing import Any

import pydantic_core
from fastapi.responses import Response


class FastJSONResponse(Response):
    """``application/json`` rendered by pydantic-core."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:
        """The content as JSON bytes."""
        return pydantic_core.to_json(content, inf_nan_mode="null")
