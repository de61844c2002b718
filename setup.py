"""One copy of the shipped skills: the repository's top-level ``skills/`` folder.

Everything else about the build is in pyproject.toml. This file exists for the one thing
pyproject.toml cannot say next to ``packages.find``: that the package ``openclaw.skills.builtin``
is the folder ``skills/`` outside ``src/``. A wheel (and a non-editable ``pip install .``)
therefore carries ``skills/`` as ``openclaw/skills/builtin/``; an editable install reads
``skills/`` where it is (``openclaw.skills.discovery.builtin_dir``). There is no second copy
to keep in sync.
"""

from setuptools import find_namespace_packages, setup

setup(
    packages=[*find_namespace_packages("src", include=["openclaw*"]), "openclaw.skills.builtin"],
    package_dir={"": "src", "openclaw.skills.builtin": "skills"},
)
