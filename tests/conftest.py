pytest_plugins = ["testsupport.fixtures"]
