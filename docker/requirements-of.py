"""Print a project's requirements (its dependencies and those of the named extras), one per
line, from pyproject.toml: the image installs them in a layer of their own."""

import sys
import tomllib

with open(sys.argv[1], "rb") as handle:
    project = tomllib.load(handle)["project"]
requirements = list(project.get("dependencies", []))
for extra in sys.argv[2:]:
    requirements += project.get("optional-dependencies", {})[extra]
print("\n".join(requirements))
