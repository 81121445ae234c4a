"""Maps models/, sensors/ and hardware/ into the one ``spikesim`` import namespace."""

from setuptools import find_packages, setup

ROOTS = {
    "spikesim": "spikesim",
    "spikesim.models": "models",
    "spikesim.sensors": "sensors",
    "spikesim.hardware": "hardware",
}

packages: list[str] = []
for name, folder in ROOTS.items():
    packages.append(name)
    packages += [f"{name}.{sub}" for sub in find_packages(folder)]

setup(packages=packages, package_dir=ROOTS)
