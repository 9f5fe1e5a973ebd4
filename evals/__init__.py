"""kefu.evals: evaluation suites, the scenario format and runner, reports."""
