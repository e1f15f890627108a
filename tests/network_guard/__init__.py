"""The network guard of the test run, for the pytest process and every process it starts:
``mlaccel_network_guard`` (the guard) and ``sitecustomize`` (installs it in child processes)."""
