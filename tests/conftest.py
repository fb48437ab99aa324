pytest_plugins = ["tests.conftest_servers"]
