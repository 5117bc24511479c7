"""dldl_core: DLDL-v2 age estimation with label distributions, a face pipeline and explanations."""
from dldl_core.model import AgeNet, ModelConfig, create_model, thin_age_net, tiny_age_net

__all__ = ["AgeNet", "ModelConfig", "create_model", "thin_age_net", "tiny_age_net"]
__version__ = "0.1.0"
