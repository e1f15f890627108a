"""The one build step pyproject.toml cannot declare: the drift check's compiled pass.

Optional: without a C compiler the package installs without it, and the drift engine runs its
numpy path with the same results (``mlaccel.monitor._kernel``).
"""

from setuptools import Extension, setup

setup(
    ext_modules=[
        Extension(
            "mlaccel.monitor._scan",
            sources=["lib/mlaccel/monitor/_scan.c"],
            extra_compile_args=["-O3"],
            optional=True,
        )
    ]
)
