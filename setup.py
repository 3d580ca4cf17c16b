"""Build the Cython data-plane core (`_native/core.pyx`) as `gateway._native`.

One extension module made of several `.pxi` files joined with `include` (asyncpg's layout), so
Cython never has to find a `.pxd` by a dotted path that does not match the source tree.
`AIGW_DEBUG=1` builds with annotate HTML and line tracing (see `make build-debug`).
"""

import os

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext as _build_ext

DEBUG = os.environ.get("AIGW_DEBUG") == "1"


class build_ext(_build_ext):
    """Cythonize at build time, so generated C is never committed."""

    def finalize_options(self) -> None:
        from Cython.Build import cythonize

        directives = {
            "language_level": "3",
            "boundscheck": False,
            "wraparound": False,
            "cdivision": True,
            "embedsignature": True,
        }
        if DEBUG:
            directives.update(linetrace=True, profile=True, boundscheck=True, wraparound=True)
        self.distribution.ext_modules = cythonize(
            self.distribution.ext_modules,
            compiler_directives=directives,
            annotate=DEBUG,
            force=DEBUG,
        )
        super().finalize_options()


macros = [("CYTHON_TRACE", "1"), ("CYTHON_TRACE_NOGIL", "1")] if DEBUG else []
extra = ["-O0", "-g"] if DEBUG else ["-O2"]

setup(
    ext_modules=[
        Extension(
            "gateway._native",
            ["_native/core.pyx"],
            libraries=["sqlite3"],  # the call-log writer (_native/calllog.pxi)
            define_macros=macros,
            extra_compile_args=[*extra, "-Wall", "-Wno-unused-function", "-Wno-unreachable-code"],
        )
    ],
    cmdclass={"build_ext": build_ext},
)
