"""The simulated customer environment the demo and the tests scan (all on loopback)."""

# the hidden command of cli.py that `demo --branch` runs inside the branch office's namespace; named
# here so the command line can register it without importing the namespace machinery at start-up
BRANCH_CHILD_COMMAND = "demo-branch-scan"
