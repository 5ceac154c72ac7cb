"""Only what pyproject.toml cannot say: ship the top-level ``resources/`` folder as the
``explorer.resources`` package (icons, demo recipe), where ``explorer.core.resources`` looks
for it in an installed copy.

setuptools' ``packages.find`` ignores ``package-dir`` mappings, so the package list is made
here: every ``explorer*`` package found (as the former ``[tool.setuptools.packages.find]``
did), plus the mapped data package. Everything else lives in pyproject.toml.
"""

from setuptools import find_namespace_packages, setup

RESOURCES = ["explorer.resources",  # and its folders, which setuptools wants listed too
             *(f"explorer.resources.{p}" for p in find_namespace_packages(where="resources"))]

setup(
    packages=[*find_namespace_packages(include=["explorer*"], exclude=["*.__pycache__"]),
              *RESOURCES],
    package_dir={"explorer.resources": "resources"},
)
