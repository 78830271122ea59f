"""Not on the production path: the demo, the scenario runner, the local broker."""
