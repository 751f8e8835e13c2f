"""Package, deploy and invoke the reward Lambda."""
