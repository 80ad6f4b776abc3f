"""cxsim's model: customers with emotional, cognitive and behavioural state, firms running the
customer experience management mechanism, and the six support factors behind it."""

from sim.agents import Customer
from sim.config import params_from_cfg, params_from_overrides
from sim.firm import Firm
from sim.kpis import KPIS
from sim.model import CXModel
from sim.params import ParamError, Params, validate, with_updates
from sim.run import RunResult, run_kpis, run_model

__all__ = [
    "KPIS",
    "CXModel",
    "Customer",
    "Firm",
    "ParamError",
    "Params",
    "RunResult",
    "params_from_cfg",
    "params_from_overrides",
    "run_kpis",
    "run_model",
    "validate",
    "with_updates",
]
