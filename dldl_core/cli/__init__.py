"""The ``dldl`` command line."""
