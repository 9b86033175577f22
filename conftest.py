"""Root conftest: the project's pytest plugin (hil.fixtures) is registered here once it exists."""
