"""Grid exchange (seed 001 §2.2 item 8): P_grid = P_buy - P_sell, 0 <= P_buy <= P_buy,max, 0 <= P_sell <= P_sell,max.

In the site simulator the grid is the electric slack within these limits; what lies beyond them
is reported as imbalance. Prices are per period and live in the site data, not here.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from aggregation.distributions import STRICT_CONFIG


class GridExchangeSpec(BaseModel):
    """Point of common coupling limits and the import emission factor."""

    # strict and finite: booleans, quoted numbers, NaN and inf are errors (issue 10).
    model_config = STRICT_CONFIG

    buy_max_kw: float = Field(5000.0, ge=0, le=1e8, allow_inf_nan=False)
    sell_max_kw: float = Field(2000.0, ge=0, le=1e8, allow_inf_nan=False)
    emission_kg_per_kwh_import: float = Field(0.0, ge=0, le=2, allow_inf_nan=False)
