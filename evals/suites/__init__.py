"""The built-in evaluation suites (`kefu eval --help` lists them with the installed plugins)."""
