"""Names of the CAM methods, importable without grad-cam (which takes seconds to import) for the CLI's options."""

CAM_METHOD_NAMES = ("gradcam", "gradcam++", "hirescam", "layercam", "eigencam", "scorecam")
