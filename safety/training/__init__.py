"""Training and evaluation of the safety heads (`python -m kefu.safety train|eval`); needs the shared datasets."""
