"""Container tests on a real Docker engine (a package, so its conftest is not `conftest`)."""
