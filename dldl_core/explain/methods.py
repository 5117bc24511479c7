"""Names of the CAM methods and of the fills, importable without grad-cam or torch (which take seconds to import) for
the CLI's options and the app's choices."""

CAM_METHOD_NAMES = ("gradcam", "gradcam++", "hirescam", "layercam", "eigencam", "scorecam")
METHOD_LABELS = {"gradcam": "Grad-CAM", "gradcam++": "Grad-CAM++", "hirescam": "HiResCAM", "layercam": "LayerCAM",
                 "eigencam": "EigenCAM", "scorecam": "Score-CAM"}  # each method's name for people
# Methods whose map does not depend on the target: EigenCAM draws the first principal component of the layer's
# activations and never reads the network's output.
TARGET_AGNOSTIC_METHODS = frozenset({"eigencam"})


def ignores_target(method: str) -> bool:
    """True for a method whose map is the same whatever the target (a registry key of ``CAM_METHOD_NAMES``)."""
    return method in TARGET_AGNOSTIC_METHODS

FILLS: dict[str, str] = {  # what replaces a hidden pixel (dldl_core.explain.fills) -> what it becomes, for people
    "blur": "a strong blur of the same face",
    "road": "noisy linear imputation from the surrounding pixels (ROAD)",
    "mean": "the training data's mean colour",
}
DEFAULT_FILL = "blur"
